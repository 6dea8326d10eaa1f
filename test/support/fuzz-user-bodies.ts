import fc from 'fast-check';
import {
  allowedChar,
  chars,
  forbiddenChar,
  IdCase,
  idCase,
  marker,
  nameIsValid,
  PROTOTYPE_KEYS,
  trimmable,
} from './fuzz-arbitraries';

/**
 * POST /users and PATCH /users/:id bodies for the fuzz suite. Every case carries a distinctive
 * marker in its name (or its email), so the generated Asterisk files and the database can be
 * searched for a rejected value afterwards.
 */
/** A valid-looking name around a marker; may still exceed 100 characters. */
const markedValidName = (m: string): fc.Arbitrary<string> =>
  fc
    .tuple(trimmable, chars(allowedChar, 45), chars(allowedChar, 45), trimmable)
    .map(([a, pre, post, z]) => `${a}${pre}${m}${post}${z}`);

/** The marker, then a forbidden character inside (at an end, trimming could remove it). */
const hostileName = (m: string): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          chars(allowedChar, 10),
          chars(forbiddenChar, 4, 1),
          chars(fc.oneof(allowedChar, forbiddenChar), 20),
        )
        .map(([pre, bad, rest]) => `${m}${pre}${bad}${rest}x`),
    },
    // Too long: 101 characters up to well past the body limit.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 101 - m.length, max: 20_000 })
        .map((n) => `${m}${'a'.repeat(n)}`),
    },
  );

const DOMAINS = ['example.com', 'example.org', 'mail.example.co.uk', 'xn--bcher-kva.example'];
const validEmail = (m: string): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom('', '.x', '+tag', '_1', '-a.b'),
      fc.constantFrom(...DOMAINS),
      fc.boolean(),
      trimmable,
    )
    .map(([suffix, domain, upper, pad]) => {
      const email = `${m}${suffix}@${domain}`;
      return `${pad}${upper ? email.toUpperCase() : email}${pad}`;
    });

/** Invalid or odd addresses; some pass class-validator (quoted local parts), which is fine. */
const oddEmail = (m: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      `${m}\n@example.com`,
      `${m}@example.com\r\nBcc: x@example.org`,
      `${m}@`,
      `@${m}.com`,
      m,
      `${m}@exa;mple.com`,
      `${m}@[127.0.0.1]`,
      `"${m};[x]"@example.com`,
      `${m}@example.com\u0000`,
      `${m}\u202E@example.com`,
      `${m}@@example.com`,
      '',
      ' ',
    ),
    fc.integer({ min: 245, max: 400 }).map((n) => `${m}${'a'.repeat(n)}@example.com`),
    fc
      .tuple(chars(forbiddenChar, 3, 1), fc.constantFrom(...DOMAINS))
      .map(([b, d]) => `${m}${b}@${d}`),
  );

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const FIELD_NAMES = [
  'extension',
  'tenantId',
  'id',
  'sipPassword',
  'sipUsername',
  'password',
  'md5Digest',
  'realm',
  'isAdmin',
  'createdAt',
  'Name',
  'EMAIL',
  'name ',
];
const extraKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FIELD_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  {
    weight: 3,
    arbitrary: fc
      .string({ minLength: 0, maxLength: 20 })
      .filter((k) => k !== 'name' && k !== 'email'),
  },
);

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16le',
  'application/json; charset=iso-8859-1',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
];
const CONTENT_ENCODINGS = ['gzip', 'deflate', 'br', 'compress', 'identity', 'x-unknown'];

/** What a POST /users case promises: created, rejected, or (odd inputs) anything but a 5xx. */
export type Expect = 'created' | 'rejected' | 'any';

export type CreateKind =
  | 'valid'
  | 'unmarked-valid'
  | 'hostile-name'
  | 'odd-email'
  | 'wrong-type'
  | 'missing-field'
  | 'extra-field'
  | 'json-value'
  | 'raw'
  | 'deep-nesting'
  | 'duplicate-key';

/** Either a JSON body (sent as application/json) or raw bytes with the given headers. */
export interface CreateCase {
  kind: CreateKind;
  /** Unique per case; in the name (or at least the email) wherever the body has one. */
  marker: string;
  body?: Record<string, unknown>;
  raw?: Buffer;
  contentType?: string;
  contentEncoding?: string;
  expect: Expect;
}

const createCaseFor = (m: string): fc.Arbitrary<CreateCase> =>
  fc.oneof(
    {
      weight: 1,
      arbitrary: fc.tuple(markedValidName(m), validEmail(m)).map(([name, email]): CreateCase => ({
        kind: 'valid',
        marker: m,
        body: { name, email },
        expect: nameIsValid(name) ? 'created' : 'rejected',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.tuple(trimmable, chars(allowedChar, 100, 1), trimmable).map((p) => p.join('')),
          fc.constantFrom(...DOMAINS),
        )
        .map(([name, domain]): CreateCase => ({
          kind: 'unmarked-valid',
          marker: m,
          body: { name, email: `${m}@${domain}` },
          expect: nameIsValid(name) ? 'created' : 'rejected',
        })),
    },
    {
      weight: 6,
      arbitrary: fc.tuple(hostileName(m), validEmail(m)).map(([name, email]): CreateCase => ({
        kind: 'hostile-name',
        marker: m,
        body: { name, email },
        expect: 'rejected',
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(markedValidName(m), oddEmail(m)).map(([name, email]): CreateCase => ({
        kind: 'odd-email',
        marker: m,
        body: { name, email },
        expect: 'any',
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(wrongType, markedValidName(m), validEmail(m), fc.boolean())
        .map(([bad, name, email, badName]): CreateCase => ({
          kind: 'wrong-type',
          marker: m,
          body: badName ? { name: bad, email } : { name, email: bad },
          expect: 'rejected',
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(markedValidName(m), validEmail(m), fc.nat(2))
        .map(([name, email, which]): CreateCase => ({
          kind: 'missing-field',
          marker: m,
          body: which === 0 ? { name } : which === 1 ? { email } : {},
          expect: 'rejected',
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(markedValidName(m), validEmail(m), extraKey, fc.jsonValue({ maxDepth: 2 }))
        .map(([name, email, key, value]): CreateCase => {
          // A computed key makes "__proto__" an own property, as JSON.parse does on the server.
          const body: Record<string, unknown> = { name, email, [key]: value };
          return { kind: 'extra-field', marker: m, body, expect: 'rejected' };
        }),
    },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value): CreateCase => ({
        kind: 'json-value',
        marker: m,
        raw: Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'),
        contentType: 'application/json',
        expect: 'rejected',
      })),
    },
    {
      weight: 3,
      arbitrary: rawCase(m),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 50, max: 2700 }), fc.boolean(), validEmail(m))
        .map(([depth, arrays, email]): CreateCase => {
          const nested = arrays
            ? `${'['.repeat(depth)}${']'.repeat(depth)}`
            : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
          return {
            kind: 'deep-nesting',
            marker: m,
            raw: Buffer.from(`{"name":"${m}","email":${JSON.stringify(email)},"x":${nested}}`),
            contentType: 'application/json',
            expect: 'rejected',
          };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(hostileName(m), validEmail(m)).map(([bad, email]): CreateCase => ({
        // JSON.parse keeps the last duplicate: the hostile one must be what is validated.
        kind: 'duplicate-key',
        marker: m,
        raw: Buffer.from(
          `{"name":"Fine Name","email":${JSON.stringify(email)},"name":${JSON.stringify(bad)}}`,
        ),
        contentType: 'application/json',
        expect: 'rejected',
      })),
    },
  );

/** Bytes that are not the JSON they claim to be, or JSON under the wrong headers. */
function rawCase(m: string): fc.Arbitrary<CreateCase> {
  const valid = JSON.stringify({ name: `Raw ${m}`, email: `${m}@example.com` });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.nat(valid.length - 1).map((cut) => Buffer.from(valid.slice(0, cut))),
    fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const b = Buffer.from(valid);
      b[at] = byte;
      return b;
    }),
    fc.constant(Buffer.from(`\uFEFF${valid}`)),
    fc.constant(Buffer.from(valid, 'utf16le')),
    fc.string({ unit: 'binary', maxLength: 100 }).map((s) => Buffer.from(s)),
  );
  return fc
    .tuple(
      bytes,
      fc.constantFrom(...CONTENT_TYPES),
      fc.option(fc.constantFrom(...CONTENT_ENCODINGS), { freq: 8 }),
    )
    .map(([raw, contentType, enc]): CreateCase => ({
      kind: 'raw',
      marker: m,
      raw,
      contentType,
      contentEncoding: enc ?? undefined,
      expect: 'any',
    }));
}

export const createCase: fc.Arbitrary<CreateCase> = marker.chain(createCaseFor);

/**
 * A PATCH /users/:id body and what it promises for an existing user: 'ok' (200), 'rejected'
 * (400), 'taken' (the email of another user, resolved when sent: 409) or 'any' (no 5xx).
 */
export interface UpdateCase {
  kind: string;
  marker: string;
  target: IdCase;
  body?: Record<string, unknown>;
  raw?: string;
  expect: 'ok' | 'rejected' | 'taken' | 'any';
}

const updateBodyFor = (m: string): fc.Arbitrary<Omit<UpdateCase, 'target'>> =>
  fc.oneof(
    markedValidName(m).map((name) => ({
      kind: 'name',
      marker: m,
      body: { name },
      expect: nameIsValid(name) ? ('ok' as const) : ('rejected' as const),
    })),
    validEmail(m).map((email) => ({
      kind: 'email',
      marker: m,
      body: { email },
      expect: 'ok' as const,
    })),
    fc.tuple(markedValidName(m), validEmail(m)).map(([name, email]) => ({
      kind: 'both',
      marker: m,
      body: { name, email },
      expect: nameIsValid(name) ? ('ok' as const) : ('rejected' as const),
    })),
    hostileName(m).map((name) => ({
      kind: 'hostile-name',
      marker: m,
      body: { name },
      expect: 'rejected' as const,
    })),
    oddEmail(m).map((email) => ({
      kind: 'odd-email',
      marker: m,
      body: { email },
      expect: 'any' as const,
    })),
    fc.tuple(wrongType, fc.boolean()).map(([bad, name]) => ({
      kind: 'wrong-type',
      marker: m,
      body: name ? { name: bad } : { email: bad },
      expect: 'rejected' as const,
    })),
    fc
      .tuple(markedValidName(m), extraKey, fc.jsonValue({ maxDepth: 2 }))
      .map(([name, key, value]) => ({
        kind: 'extra-field',
        marker: m,
        body: { name, [key]: value },
        expect: 'rejected' as const,
      })),
    fc.integer({ min: 0, max: 10_000 }).map((extension) => ({
      kind: 'extension',
      marker: m,
      body: { extension },
      expect: 'rejected' as const,
    })),
    fc.constant({ kind: 'empty', marker: m, body: {}, expect: 'rejected' as const }),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
      .map((v) => ({
        kind: 'json-value',
        marker: m,
        raw: JSON.stringify(v) ?? 'null',
        expect: 'rejected' as const,
      })),
    fc.constant({ kind: 'taken-email', marker: m, expect: 'taken' as const }),
  );

export const updateCase: fc.Arbitrary<UpdateCase> = fc
  .tuple(marker, idCase(24))
  .chain(([m, target]) => updateBodyFor(m).map((body) => ({ ...body, target })));

/** A create case as a failure report shows it: raw bytes as latin1, cut short. */
export const describeCase = (c: CreateCase): unknown =>
  c.raw
    ? {
        kind: c.kind,
        contentType: c.contentType,
        contentEncoding: c.contentEncoding,
        raw: c.raw.toString('latin1').slice(0, 200),
      }
    : { kind: c.kind, body: c.body };

/**
 * The statuses the README allows a PATCH, in its order: the id is checked first, then the
 * body, then the user. undefined when any answer but a 5xx will do.
 */
export const patchStatus = (
  id: 'found' | 404 | 400,
  body: UpdateCase['expect'],
): number[] | undefined => {
  // 413: a rejected name can be longer than the body limit.
  if (id === 400 || body === 'rejected') return [400, 413];
  if (body === 'any') return undefined;
  if (id === 404) return [404];
  return body === 'taken' ? [409] : [200];
};
