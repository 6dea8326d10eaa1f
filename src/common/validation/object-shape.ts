/** Deeper than any request of this API; bounds the recursion of everything downstream. */
export const MAX_JSON_DEPTH = 16;

// Names that class-transformer and plain objects treat specially: never a field of ours.
const isPrototypeKey = (key: string): boolean =>
  key === '__proto__' || key === 'prototype' || key in Object.prototype;

/**
 * What validation would choke on in a parsed body or query: very deep nesting
 * (class-transformer recurses into it) and keys named after Object.prototype members (which
 * slip past the whitelist). Undefined when there is nothing of the sort.
 */
export function shapeProblem(value: unknown, depth = 1): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_JSON_DEPTH)
    return `request body is nested more than ${MAX_JSON_DEPTH} levels deep`;
  for (const key of Object.keys(value)) {
    if (!Array.isArray(value) && isPrototypeKey(key)) return `property ${key} should not exist`;
    const inner = shapeProblem((value as Record<string, unknown>)[key], depth + 1);
    if (inner) return inner;
  }
  return undefined;
}
