import fc from 'fast-check';
import {
  assertContext,
  assertExtension,
  CALLER_ID_NAME_MAX_LENGTH,
  sanitizeCallerIdName,
  validatedRows,
} from './config-escaping';
import { SipAccountRow } from './types';
import { HOSTILE_CHARS } from '../../../test/support/hostile-chars';

const row = (extension: number, over: Partial<SipAccountRow> = {}): SipAccountRow => ({
  extension,
  name: `User ${extension}`,
  sipUsername: String(extension),
  realm: 'asterisk',
  md5Digest: 'a'.repeat(32),
  sha256Digest: 'b'.repeat(64),
  ...over,
});

const SAFE_NAME = /^[\p{L}\p{M}\p{N} .,'\-_()&]+$/u;

describe('sanitizeCallerIdName', () => {
  it.each([
    ['Alice Smith', 'Alice Smith'],
    ["Bob O'Neil", "Bob O'Neil"],
    ['Zoë Ünal', 'Zoë Ünal'],
    ['José (Sales) & Co., Ltd.', 'José (Sales) & Co., Ltd.'],
    ['Jean-Luc_Picard', 'Jean-Luc_Picard'],
    ['山田 太郎', '山田 太郎'],
    ['R2 D2 ٣', 'R2 D2 ٣'],
    ['e\u0301', 'e\u0301'],
  ])('keeps %j', (input, expected) => {
    expect(sanitizeCallerIdName(input, 1000)).toBe(expected);
  });

  it.each([
    ['A; B', 'A_ B'],
    ['Evil"Quote', 'Evil_Quote'],
    ['x\ntype=endpoint', 'x_type_endpoint'],
    ['x\r\n[1001]', 'x___1001_'],
    ['nul\0byte', 'nul_byte'],
    ['line\u2028sep\u2029', 'line_sep_'],
    ['<sip:evil>', '_sip_evil_'],
    ['back\\slash', 'back_slash'],
    ['tab\there', 'tab_here'],
    ['emoji 😀', 'emoji _'],
    ['lone \ud800 surrogate', 'lone _ surrogate'],
  ])('replaces what could break the config in %j', (input, expected) => {
    expect(sanitizeCallerIdName(input, 1000)).toBe(expected);
  });

  it('trims spaces and falls back to the extension when nothing is left', () => {
    expect(sanitizeCallerIdName('   Ann   ', 1000)).toBe('Ann');
    expect(sanitizeCallerIdName('', 1234)).toBe('1234');
    expect(sanitizeCallerIdName('    ', 1234)).toBe('1234');
  });

  it('caps the name at 100 code points, not UTF-16 units', () => {
    expect(sanitizeCallerIdName('x'.repeat(150), 1000)).toBe('x'.repeat(100));
    const capped = sanitizeCallerIdName('ë'.repeat(99) + ' ' + 'y'.repeat(10), 1000);
    expect(capped).toBe('ë'.repeat(99)); // the cut leaves a trailing space, which is trimmed
    expect(Array.from(sanitizeCallerIdName('山'.repeat(120), 1000))).toHaveLength(100);
  });

  it('rejects a bad extension and a name that is not a string', () => {
    expect(() => sanitizeCallerIdName('A', 0)).toThrow(/Invalid extension/);
    expect(() => sanitizeCallerIdName(null as unknown as string, 1000)).toThrow(/not a string/);
  });

  it('always returns 1..100 allowed characters with no outer spaces, whatever the input', () => {
    const hostile = fc.constantFrom(...HOSTILE_CHARS);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.string({ unit: hostile, maxLength: 300 }),
        ),
        (name) => {
          const safe = sanitizeCallerIdName(name, 4321);
          expect(safe).toMatch(SAFE_NAME);
          expect(Array.from(safe).length).toBeLessThanOrEqual(CALLER_ID_NAME_MAX_LENGTH);
          expect(safe).toBe(safe.trim());
        },
      ),
    );
  });
});

describe('validators', () => {
  it.each([0, 100000, 1.5, -1, NaN, '1000', null])('rejects extension %p', (ext) => {
    expect(() => assertExtension(ext)).toThrow(/Invalid extension/);
  });

  it.each([1, 1000, 99999])('accepts extension %p', (ext) => {
    expect(() => assertExtension(ext)).not.toThrow();
  });

  it.each(['', 'bad context', 'ctx;x', 'ctx]', 'ctx\n', 'général', 'general', 'GLOBALS'])(
    'rejects context %j',
    (ctx) => {
      expect(() => assertContext(ctx)).toThrow(/Invalid dialplan context/);
    },
  );

  it.each<[string, Partial<SipAccountRow>, RegExp]>([
    ['sipUsername with a letter', { sipUsername: '100a' }, /sipUsername/],
    ['empty sipUsername', { sipUsername: '' }, /sipUsername/],
    ['realm with a space', { realm: 'my realm' }, /realm/],
    ['realm with a newline', { realm: 'asterisk\n[x]' }, /realm/],
    ['short md5', { md5Digest: 'a'.repeat(31) }, /md5Digest/],
    ['uppercase md5', { md5Digest: 'A'.repeat(32) }, /md5Digest/],
    ['sha256 with a comma', { sha256Digest: 'b'.repeat(63) + ',' }, /sha256Digest/],
    ['name not a string', { name: undefined }, /name/],
  ])('rejects a row with %s', (_what, over, message) => {
    expect(() => validatedRows([row(1000, over)])).toThrow(message);
  });

  it('names the extension but never echoes a digest in the error', () => {
    const secret = 'f'.repeat(31) + 'X';
    expect(() => validatedRows([row(1042, { md5Digest: secret })])).toThrow(/extension 1042/);
    try {
      validatedRows([row(1042, { md5Digest: secret })]);
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });

  it('rejects duplicate extensions and sorts without touching the input', () => {
    expect(() => validatedRows([row(1000), row(1001), row(1000)])).toThrow(
      /Duplicate extension 1000/,
    );
    const input = [row(1002), row(999), row(1000)];
    expect(validatedRows(input).map((r) => r.extension)).toEqual([999, 1000, 1002]);
    expect(input.map((r) => r.extension)).toEqual([1002, 999, 1000]);
  });
});
