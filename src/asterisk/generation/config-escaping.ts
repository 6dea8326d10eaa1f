import { GenerationSettings, SipAccountRow } from './types';

/**
 * Guards for everything that reaches a generated Asterisk file. Validation upstream already
 * rejects bad input; these run again because a single stray `;`, `"`, `[` or newline in a
 * value is config injection (a new option or a new [section] in pjsip.conf).
 */

export const CALLER_ID_NAME_MAX_LENGTH = 100;

// Letters of any script, combining marks, digits, space and a few harmless punctuation marks.
// None of them can end the quoted name, start a comment or break the line.
const CALLER_ID_NAME_CHAR = /^[\p{L}\p{M}\p{N} .,'\-_()&]$/u;

const SIP_USERNAME = /^[0-9]+$/;
const REALM = /^[A-Za-z0-9.-]+$/;
const MD5_HEX = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTEXT = /^[A-Za-z0-9_-]+$/;
// pbx_config reads these two categories as settings, never as contexts.
const RESERVED_CONTEXTS = new Set(['general', 'globals']);

export const MIN_EXTENSION = 1;
export const MAX_EXTENSION = 99999;

/**
 * Makes a display name safe inside `callerid="<name>" <ext>`: every character outside the
 * allowed set becomes `_`, the result is trimmed and capped at 100 code points, and an empty
 * result falls back to the extension number.
 */
export function sanitizeCallerIdName(name: string, extension: number): string {
  assertExtension(extension);
  if (typeof name !== 'string') {
    throw new TypeError(`Caller ID name for extension ${extension} is not a string`);
  }
  let safe = '';
  // for..of walks code points, so a lone surrogate is one (rejected) character.
  for (const ch of name) safe += CALLER_ID_NAME_CHAR.test(ch) ? ch : '_';
  safe = trimSpaces(safe);
  const codePoints = Array.from(safe);
  if (codePoints.length > CALLER_ID_NAME_MAX_LENGTH) {
    safe = trimSpaces(codePoints.slice(0, CALLER_ID_NAME_MAX_LENGTH).join(''));
  }
  return safe === '' ? String(extension) : safe;
}

function trimSpaces(s: string): string {
  return s.replace(/^ +| +$/g, '');
}

export function assertExtension(extension: unknown): asserts extension is number {
  if (
    typeof extension !== 'number' ||
    !Number.isInteger(extension) ||
    extension < MIN_EXTENSION ||
    extension > MAX_EXTENSION
  ) {
    throw new Error(
      `Invalid extension ${describe(extension)}: must be an integer from ${MIN_EXTENSION} to ${MAX_EXTENSION}`,
    );
  }
}

/** Asterisk takes qualify_frequency from 0 (off) to 86400 seconds. */
export const MAX_QUALIFY_SECONDS = 86400;

export function assertQualifySeconds(seconds: unknown): asserts seconds is number {
  if (
    !Number.isInteger(seconds) ||
    (seconds as number) < 0 ||
    (seconds as number) > MAX_QUALIFY_SECONDS
  ) {
    throw new Error(
      `Invalid qualify frequency ${describe(seconds)}: must be an integer from 0 to ${MAX_QUALIFY_SECONDS}`,
    );
  }
}

export function assertContext(context: unknown): asserts context is string {
  if (typeof context !== 'string' || !CONTEXT.test(context)) {
    throw new Error(`Invalid dialplan context ${describe(context)}: must match ${CONTEXT}`);
  }
  if (RESERVED_CONTEXTS.has(context.toLowerCase())) {
    throw new Error(`Invalid dialplan context "${context}": reserved by extensions.conf`);
  }
}

export function assertSettings(settings: GenerationSettings): void {
  if (settings === null || typeof settings !== 'object') {
    throw new TypeError('Generation settings are missing');
  }
  assertContext(settings.context);
}

/** Throws naming the extension and the field; digests are never echoed (they are credentials). */
export function assertSipAccountRow(row: SipAccountRow): void {
  if (row === null || typeof row !== 'object') throw new TypeError('SIP account row is missing');
  assertExtension(row.extension);
  const where = `SIP account for extension ${row.extension}`;
  if (typeof row.name !== 'string') throw new Error(`${where}: name is not a string`);
  if (typeof row.sipUsername !== 'string' || !SIP_USERNAME.test(row.sipUsername)) {
    throw new Error(`${where}: invalid sipUsername ${describe(row.sipUsername)}: digits only`);
  }
  if (typeof row.realm !== 'string' || !REALM.test(row.realm)) {
    throw new Error(`${where}: invalid realm ${describe(row.realm)}: must match ${REALM}`);
  }
  if (typeof row.md5Digest !== 'string' || !MD5_HEX.test(row.md5Digest)) {
    throw new Error(`${where}: md5Digest must be 32 lowercase hex characters`);
  }
  if (typeof row.sha256Digest !== 'string' || !SHA256_HEX.test(row.sha256Digest)) {
    throw new Error(`${where}: sha256Digest must be 64 lowercase hex characters`);
  }
}

/** Validates every row, rejects duplicate extensions, and returns a copy sorted by extension. */
export function validatedRows(rows: readonly SipAccountRow[]): SipAccountRow[] {
  const input: unknown = rows;
  if (!Array.isArray(input)) throw new TypeError('SIP account rows must be an array');
  const seen = new Set<number>();
  for (const row of rows) {
    assertSipAccountRow(row);
    if (seen.has(row.extension)) throw new Error(`Duplicate extension ${row.extension}`);
    seen.add(row.extension);
  }
  return [...rows].sort((a, b) => a.extension - b.extension);
}

// Bounded and JSON-quoted, so an error message can never carry a raw newline or a huge value.
function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  return typeof value;
}
