import fc from 'fast-check';

/**
 * Generators for the API fuzz suites: the README's rules, the characters names are built
 * from, and query strings and ids for every route. Where the README settles the answer, a
 * case carries it, so a suite checks more than "no 5xx". User bodies are in fuzz-user-bodies.
 */

/** The README's name rule, restated here rather than imported, so src/ cannot drift into it. */
export const NAME_RULE = /^[\p{L}\p{M}\p{N} .,'\-_()&]+$/u;
export const UUID_RULE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 1 to 100 characters (code points, as PostgreSQL counts them) after trimming, allowed set. */
export function nameIsValid(raw: string): boolean {
  const trimmed = raw.trim();
  const length = Array.from(trimmed).length;
  return length >= 1 && length <= 100 && NAME_RULE.test(trimmed);
}

const LOWER = [...'abcdefghijklmnopqrstuvwxyz'];

/** "Zq" + 12 random lowercase letters: valid in a name, and never produced by chance. */
export const marker: fc.Arbitrary<string> = fc
  .string({ unit: fc.constantFrom(...LOWER), minLength: 12, maxLength: 12 })
  .map((s) => `Zq${s}`);

const ASCII_ALLOWED = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ..." .,'-_()&",
];
/** Letters of other scripts (some outside the BMP), other digits, and combining marks. */
const UNICODE_ALLOWED = [
  'é',
  'ñ',
  'ß',
  'Ø',
  'ł',
  'ğ',
  'Ж',
  'щ',
  'Ω',
  'λ',
  'ا',
  'ע',
  '李',
  '字',
  'あ',
  'カ',
  '한',
  'ก',
  'ह',
  '\u{1D518}',
  '\u{20000}',
  '٣',
  '²',
  'Ⅻ',
  '\u0301',
  '\u0308',
  '\u0327',
  '\u20DD',
  '\uFE0E',
  '\uFE0F',
];
export const allowedChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ASCII_ALLOWED) },
  { weight: 1, arbitrary: fc.constantFrom(...UNICODE_ALLOWED) },
);

const CONTROL = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  '\x7f',
  '\x80',
  '\x85',
  '\x9f',
];
const SYNTAX = [...';"[]<>\\`=#!$%*+/:?@{}|~^'];
const UNICODE_FORBIDDEN = [
  '\u2028',
  '\u2029',
  '\u200B',
  '\u200D',
  '\u202E',
  '\u2066',
  '\uFEFF',
  '\u00A0',
  '\u3000',
  '\uFF1B',
  '\uFF3B',
  '\u{1F600}',
  '\u{1F3F3}\uFE0F\u200D\u{1F308}',
  '\uD800',
  '\uDFFF',
  '\uFFFE',
  '\uFFFD',
  '\u{E0001}',
];
/** Characters the README forbids: control characters, config syntax, odd Unicode. */
export const forbiddenChar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...CONTROL),
  fc.constantFrom(...SYNTAX),
  fc.constantFrom(...UNICODE_FORBIDDEN),
);

/** Whitespace that trimming removes, so wrapping a valid name in it keeps it valid. */
export const trimmable = fc.constantFrom(
  '',
  '',
  '',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\u00A0',
  '\u3000',
);

export const chars = (arb: fc.Arbitrary<string>, maxLength: number, minLength = 0) =>
  fc.array(arb, { minLength, maxLength, size: 'max' }).map((a) => a.join(''));

/** Names of Object.prototype members: the kind of key that slips past naive whitelists. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
];
/** Percent-encodes any string, including lone surrogates, which encodeURIComponent refuses. */
export function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      out += '%ED%A0%80';
    }
  }
  return out;
}

const NUMERIC_ODDITIES = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e3',
  '1e21',
  '1e400',
  '0x10',
  '0b11',
  ' 7',
  '7 ',
  'abc',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'true',
  '[]',
  '{}',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '99999999999999999999',
  '%00',
  '１２',
];
export const numericValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NUMERIC_ODDITIES),
  fc.integer({ min: -10, max: 5000 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  fc.double({ noNaN: false }).map(String),
);
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  chars(fc.oneof(allowedChar, forbiddenChar), 30),
  fc.constantFrom('%', '_', '\\', "' OR '1'='1", '%_%', '\u0000', 'a\u0000b', '\uD800'),
  fc.integer({ min: 250, max: 3000 }).map((n) => 'x'.repeat(n)),
);

/** One query-string parameter: known and unknown keys, odd values, repeats. */
const queryPair = (keys: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...keys), fc.oneof(numericValue, hostileString))
      .map(([k, v]) => `${encode(k)}=${encode(v)}`),
    fc
      .tuple(
        fc.oneof(
          { weight: 20, arbitrary: fc.string({ maxLength: 10 }) },
          { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
        ),
        hostileString,
      )
      .map(([k, v]) => `${encode(k)}=${encode(v)}`),
    fc.tuple(fc.constantFrom(...keys), numericValue).map(([k, v]) => `${k}[]=${encode(v)}`),
    fc.constantFrom('%zz', '%', '=', '&', '%E0%A4%A', `${keys[0]}=%ED%A0%80`, keys[0]),
  );

/** Parameter names in a query string that the route does not define (empty names aside). */
export function unknownParams(query: string, known: readonly string[]): string[] {
  return [...new URLSearchParams(query).keys()].filter((k) => k !== '' && !known.includes(k));
}

export interface QueryCase {
  query: string;
  /** Set when the case is valid by the README; the suite then checks the exact answer. */
  valid?: { search?: string; limit?: number; offset?: number };
}

const joinQuery = (pairs: (string | undefined)[]): string =>
  pairs.filter((p): p is string => p !== undefined).join('&');

export const listQueryCase: fc.Arbitrary<QueryCase> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .record(
        {
          search: fc.oneof(
            chars(allowedChar, 20),
            fc.integer({ min: 1000, max: 1100 }).map(String),
          ),
          limit: fc.integer({ min: 1, max: 1000 }),
          offset: fc.integer({ min: 0, max: 3000 }),
        },
        { requiredKeys: [] },
      )
      .map((v) => ({
        valid: v,
        query: joinQuery([
          v.search === undefined ? undefined : `search=${encode(v.search)}`,
          v.limit === undefined ? undefined : `limit=${v.limit}`,
          v.offset === undefined ? undefined : `offset=${v.offset}`,
        ]),
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .array(queryPair(['search', 'limit', 'offset']), { minLength: 1, maxLength: 4 })
      .map((pairs) => ({ query: pairs.join('&') })),
  },
);

export type IdCase =
  | { kind: 'existing'; pick: number }
  | { kind: 'missing-uuid' | 'near-uuid' | 'random' | 'injection'; id: string }
  | { kind: 'raw-path'; path: string };

const nearUuid: fc.Arbitrary<string> = fc
  .tuple(
    fc.uuid(),
    fc.constantFrom(
      'upper',
      'no-hyphens',
      'braces',
      'urn',
      'trailing-space',
      'newline',
      'extra-char',
      'short',
      'non-hex',
      'nul',
    ),
  )
  .map(([u, how]) => {
    switch (how) {
      case 'upper':
        return u.toUpperCase();
      case 'no-hyphens':
        return u.replace(/-/g, '');
      case 'braces':
        return `{${u}}`;
      case 'urn':
        return `urn:uuid:${u}`;
      case 'trailing-space':
        return `${u} `;
      case 'newline':
        return `${u}\n`;
      case 'extra-char':
        return `${u}0`;
      case 'short':
        return u.slice(0, -1);
      case 'non-hex':
        return `g${u.slice(1)}`;
      case 'nul':
        return `${u}\u0000`;
    }
  });

export const idCase = (existingWeight: number): fc.Arbitrary<IdCase> =>
  fc.oneof(
    {
      weight: existingWeight,
      arbitrary: fc.nat().map((pick): IdCase => ({ kind: 'existing', pick })),
    },
    {
      weight: 6,
      arbitrary: fc
        .oneof(
          fc.uuid(),
          fc.constantFrom(
            '00000000-0000-0000-0000-000000000000',
            'ffffffff-ffff-ffff-ffff-ffffffffffff',
          ),
        )
        .map((id): IdCase => ({ kind: 'missing-uuid', id })),
    },
    { weight: 6, arbitrary: nearUuid.map((id): IdCase => ({ kind: 'near-uuid', id })) },
    {
      weight: 6,
      arbitrary: fc
        .oneof(hostileString, fc.string({ minLength: 1, maxLength: 60 }))
        .filter((s) => s.length > 0)
        .map((id): IdCase => ({ kind: 'random', id })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          "1' OR '1'='1",
          "00000000-0000-0000-0000-000000000000' OR '1'='1",
          '00000000-0000-0000-0000-000000000000; DELETE FROM "user"; --',
          '$1',
          '*',
        )
        .map((id): IdCase => ({ kind: 'injection', id })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('%zz', '%', '%00', '..%2f..%2fapply', '%2e%2e', '..', '.', 'a/b', '%ff%fe')
        .map((path): IdCase => ({ kind: 'raw-path', path })),
    },
  );

export interface ApplyQueryCase {
  query: string;
  /** 'dry' and 'real' are valid by the README; undefined means must be a 400. */
  mode?: 'dry' | 'real' | 'any';
}

/** realWeight in 139: each real apply reloads the (fake) PBX, so they are kept few. */
export const applyQueryCase = (realWeight: number): fc.Arbitrary<ApplyQueryCase> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant<ApplyQueryCase>({ query: 'dryRun=true', mode: 'dry' }) },
    {
      weight: realWeight,
      arbitrary: fc.constantFrom<ApplyQueryCase>(
        { query: '', mode: 'real' },
        { query: 'dryRun=false', mode: 'real' },
      ),
    },
    {
      weight: 80,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            'TRUE',
            'True',
            '1',
            '0',
            'yes',
            'no',
            'on',
            '',
            'true ',
            ' true',
            'null',
            'undefined',
            '[]',
            '{}',
            'tru',
            'true\u0000',
          ),
          hostileString,
        )
        .map((v): ApplyQueryCase => ({ query: `dryRun=${encode(v)}` })),
    },
    {
      weight: 40,
      arbitrary: fc
        .array(queryPair(['dryRun', 'dryrun', 'force']), { minLength: 1, maxLength: 3 })
        .map((pairs): ApplyQueryCase => ({ query: pairs.join('&'), mode: 'any' })),
    },
    {
      weight: 10,
      arbitrary: fc.constantFrom<ApplyQueryCase>(
        { query: 'dryRun=true&dryRun=true' },
        { query: 'dryRun=true&dryRun=false' },
        { query: 'dryRun[]=true' },
        { query: 'dryRun=true&force=1' },
        { query: '__proto__=1&dryRun=true' },
      ),
    },
  );

export interface LogsQueryCase {
  query: string;
  /** Set when the case is valid by the README; the suite then checks the page it gets. */
  valid?: { limit: number; offset: number };
}

/** GET /apply/logs pages like GET /users: `limit` (1 to 500, 50 by default) and `offset`. */
export const logsQueryCase: fc.Arbitrary<LogsQueryCase> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .record({
        limit: fc.option(fc.integer({ min: 1, max: 500 }), { freq: 10 }),
        offset: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 3 }),
      })
      .map(({ limit, offset }) => ({
        query: joinQuery([
          limit === null ? undefined : `limit=${limit}`,
          offset === null ? undefined : `offset=${offset}`,
        ]),
        valid: { limit: limit ?? 50, offset: offset ?? 0 },
      })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('limit', 'offset'), numericValue)
      .map(([key, v]) => ({ query: `${key}=${encode(v)}` })),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(queryPair(['limit', 'offset']), { minLength: 1, maxLength: 3 })
      .map((pairs) => ({ query: pairs.join('&') })),
  },
);

/** GET /extensions: `status` (free or used) and the list's `limit` and `offset`. */
export interface ExtensionsQueryCase {
  query: string;
  valid?: { status?: 'free' | 'used'; limit?: number; offset?: number };
}

export const extensionsQueryCase: fc.Arbitrary<ExtensionsQueryCase> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .record(
        {
          status: fc.constantFrom('free' as const, 'used' as const),
          limit: fc.integer({ min: 1, max: 1000 }),
          offset: fc.oneof(fc.integer({ min: 0, max: 9500 }), fc.integer({ min: 0, max: 50 })),
        },
        { requiredKeys: [] },
      )
      .map((v) => ({
        valid: v,
        query: joinQuery([
          v.status === undefined ? undefined : `status=${v.status}`,
          v.limit === undefined ? undefined : `limit=${v.limit}`,
          v.offset === undefined ? undefined : `offset=${v.offset}`,
        ]),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'FREE',
          'Used',
          'free ',
          ' used',
          '',
          'busy',
          'all',
          'null',
          '0',
          'free%00',
        ),
        hostileString,
      )
      .map((v) => ({ query: `status=${encode(v)}` })),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(queryPair(['status', 'limit', 'offset']), { minLength: 1, maxLength: 4 })
      .map((pairs) => ({ query: pairs.join('&') })),
  },
);
