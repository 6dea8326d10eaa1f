import { FilePair, GeneratedFileKind } from '../asterisk/config-writer';
import { stripHeader, withHeader } from '../asterisk/generation/file-header';
import { RenderedConfig } from '../asterisk/render-config';

export const KINDS: GeneratedFileKind[] = ['endpoints', 'routing'];

/** One generated file: what is on disk, what an apply writes, and whether that differs. */
export interface FilePlan {
  kind: GeneratedFileKind;
  path: string;
  current: string | null;
  next: string;
  changed: boolean;
  sha256: string;
}

export function planFiles(
  rendered: RenderedConfig,
  onDisk: FilePair,
  pathOf: (kind: GeneratedFileKind) => string,
  header: { applyId: string; at: Date },
): FilePlan[] {
  return KINDS.map((kind) => {
    const current = onDisk[kind];
    const body = rendered.bodies[kind];
    const contentHash = rendered.hashes[kind];
    // Same body: keep the file byte for byte (its header names the apply that wrote it).
    const changed = current === null || stripHeader(current) !== body;
    const next = changed
      ? withHeader(body, { applyId: header.applyId, generatedAt: header.at, contentHash })
      : current;
    return { kind, path: pathOf(kind), current, next, changed, sha256: contentHash };
  });
}

/**
 * An HA1 digest answers a SIP digest challenge as well as the password does, so no response
 * shows one; this hides every `password_digest` value, on disk or planned.
 */
export function redactDigests(text: string): string {
  return text.replace(/^(\s*password_digest\s*=).*$/gm, '$1<redacted>');
}

export function samePair(a: FilePair, b: FilePair): boolean {
  return a.endpoints === b.endpoints && a.routing === b.routing;
}
