import fc from 'fast-check';
import request from 'supertest';
import { SCOPES } from '../src/common/access/scopes';
import { AUDIT_ACTIONS } from '../src/audit/audit-actions';
import { bootApp, TestApp, TEST_TOKEN } from './support/app';
import { ContractChecker } from './support/contract';
import {
  encode,
  hostileString,
  idCase,
  logsQueryCase,
  numericValue,
  unknownParams,
} from './support/fuzz-arbitraries';
import { FuzzHarness, fuzzInBatches, once, SEED } from './support/hostile-harness';

/**
 * The API key and audit routes, and the Authorization header itself, under generated input:
 * no 5xx, every answer inside the document, a 400 for what the rules refuse and a 2xx for
 * what they accept (an oracle written from the README, not from the code), and nothing
 * written by a refused request. FUZZ_SEED reproduces a run, as in every fuzz suite.
 */
describe('fuzz: API keys, the audit and the Authorization header', () => {
  const KEY_RUNS = {
    'POST /api-keys': 800,
    'GET /api-keys': 200,
    'DELETE /api-keys/:id': 200,
    'GET /audit': 600,
    Authorization: 200,
  } as const;
  type KeyRoute = keyof typeof KEY_RUNS;
  let t: TestApp;
  let contract: ContractChecker;
  const http = () => request(t.app.getHttpServer());
  const fuzz = new FuzzHarness<KeyRoute>(() => contract);
  const violation = (route: KeyRoute, rule: string, input: unknown, res?: request.Response) =>
    fuzz.violation(route, rule, input, res);
  /** Key ids created so far, and those revoked. */
  const keys: string[] = [];
  const revoked = new Set<string>();

  const check = (
    route: KeyRoute,
    input: unknown,
    req: request.Test,
    { auth = t.auth, documented = route }: { auth?: string; documented?: string } = {},
  ): Promise<request.Response> => fuzz.send(route, input, req, { auth, documented });
  const run = <T>(route: KeyRoute, arb: fc.Arbitrary<T>, each: (c: T) => Promise<unknown>) =>
    fuzzInBatches(arb, each, { runs: KEY_RUNS[route] });
  const audited = async (action: string): Promise<number> =>
    (
      await t.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM change_audit WHERE action = $1',
        [action],
      )
    ).rows[0].n;
  const count = async (sql: string): Promise<number> =>
    (await t.pg.query<{ n: number }>(sql)).rows[0].n;

  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '100000' });
    contract = new ContractChecker((await http().get('/docs-json').expect(200)).body);
  });
  afterAll(async () => {
    console.log(`fuzz seed ${SEED}, key routes:\n${fuzz.summary().join('\n')}`);
    await t?.close();
  });

  /** The README's rule for a key body, on its own. */
  const bodyIsValid = (body: Record<string, unknown>): boolean => {
    const { name, scopes, ...rest } = body;
    if (Object.keys(rest).length > 0 || typeof name !== 'string') return false;
    const trimmed = name.trim();
    const length = [...trimmed].length;
    if (length < 1 || length > 100 || /[\p{Cc}\p{Cs}]/u.test(trimmed)) return false;
    return (
      Array.isArray(scopes) &&
      scopes.length > 0 &&
      scopes.every((s) => (SCOPES as readonly unknown[]).includes(s)) &&
      new Set(scopes).size === scopes.length
    );
  };
  const anyKeyBody = fc
    .record(
      {
        name: fc.oneof(
          { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
          { weight: 3, arbitrary: hostileString },
          {
            weight: 1,
            arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())),
          },
        ),
        scopes: fc.oneof(
          { weight: 4, arbitrary: fc.shuffledSubarray([...SCOPES], { minLength: 1 }) },
          {
            weight: 3,
            arbitrary: fc.array(
              fc.oneof(fc.constantFrom(...SCOPES), hostileString, fc.integer(), fc.constant(null)),
              { maxLength: 6 },
            ),
          },
          { weight: 1, arbitrary: fc.oneof(hostileString, fc.constant(null), fc.object()) },
        ),
        extra: fc.string({ minLength: 1, maxLength: 12 }),
      },
      { requiredKeys: [] },
    )
    .map(({ extra, ...body }) =>
      extra !== undefined && !(extra in body) ? { ...body, [extra]: 1 } : body,
    );
  /** Mostly valid: spaces around, any script, every combination of scopes. */
  const likelyKeyBody = fc.record({
    name: fc.string({ minLength: 1, maxLength: 100, unit: 'grapheme' }),
    scopes: fc.shuffledSubarray([...SCOPES], { minLength: 1 }),
  });
  const keyBody: fc.Arbitrary<Record<string, unknown>> = fc.oneof(likelyKeyBody, anyKeyBody);

  const AUDIT_PARAMS = ['actor', 'action', 'targetId', 'since', 'until', 'limit', 'offset'];
  const isoDate = fc
    .date({
      min: new Date('2020-01-01T00:00:00Z'),
      max: new Date('2030-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString());
  interface AuditCase {
    query: string;
    valid?: Record<string, string>;
  }
  const auditCase: fc.Arbitrary<AuditCase> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record(
          {
            actor: fc.constantFrom('bootstrap', 'nobody'),
            action: fc.constantFrom(...AUDIT_ACTIONS),
            targetId: fc.oneof(
              fc.uuid(),
              fc.nat().map((n) => keys[n % keys.length]),
            ),
            since: isoDate,
            until: isoDate,
            limit: fc.integer({ min: 1, max: 500 }).map(String),
            offset: fc.integer({ min: 0, max: 50 }).map(String),
          },
          { requiredKeys: [] },
        )
        .map((valid) => ({
          valid,
          query: Object.entries(valid)
            .map(([k, v]) => `${k}=${encode(v)}`)
            .join('&'),
        })),
    },
    {
      weight: 4,
      arbitrary: fc
        .array(
          fc
            .tuple(
              fc.oneof(
                { weight: 6, arbitrary: fc.constantFrom(...AUDIT_PARAMS) },
                { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
              ),
              fc.oneof(hostileString, numericValue, isoDate),
            )
            .map(([k, v]) => `${encode(k)}=${encode(v)}`),
          { minLength: 1, maxLength: 4 },
        )
        .map((pairs) => ({ query: pairs.join('&') })),
    },
  );

  /*
   * Each route's run is a step that runs once; a test awaits the steps before its own, so it
   * sees the keys and audit rows the earlier routes made whether or not their tests ran.
   */
  const createKeys = once(async () => {
    const route = 'POST /api-keys';
    const before = await audited('key.create');
    await run(route, keyBody, async (body) => {
      const res = await check(route, body, http().post('/api-keys').send(body));
      const valid = bodyIsValid(body);
      if (valid !== (res.status === 201)) {
        violation(route, valid ? 'valid body refused' : 'invalid body accepted', body, res);
      }
      if (res.status !== 201) return;
      keys.push(res.body.id);
      const b = res.body as { name: string; scopes: unknown; key: string; prefix: string };
      if (b.name !== String(body.name).trim())
        violation(route, 'name not stored as sent, trimmed', body, res);
      if (JSON.stringify(b.scopes) !== JSON.stringify(body.scopes))
        violation(route, 'scopes changed', body, res);
      if (!/^scp_[A-Za-z0-9_-]{43}$/.test(b.key) || b.prefix !== b.key.slice(4, 12))
        violation(route, 'malformed key', body, res);
    });
    return {
      rows: await count('SELECT count(*)::int AS n FROM api_key'),
      audited: (await audited('key.create')) - before,
    };
  });

  const listKeys = once(async () => {
    await createKeys();
    const route = 'GET /api-keys';
    await run(route, logsQueryCase, async (c) => {
      const res = await check(route, c.query, http().get(`/api-keys?${c.query}`));
      if (unknownParams(c.query, ['limit', 'offset']).length > 0 && res.status !== 400)
        violation(route, 'unknown parameter not refused', c, res);
      if (!c.valid) return;
      const { limit, offset } = c.valid;
      const body = res.body as { items?: { key?: unknown }[]; total?: number };
      if (
        res.status !== 200 ||
        body.total !== keys.length ||
        body.items?.length !== Math.max(0, Math.min(limit, keys.length - offset))
      ) {
        violation(route, 'valid page refused, or limit/offset ignored', c, res);
      }
      if (body.items?.some((i) => 'key' in i)) violation(route, 'secret listed', c, res);
    });
  });

  const revokeKeys = once(async () => {
    await listKeys();
    const route = 'DELETE /api-keys/:id';
    const before = await audited('key.revoke');
    await run(route, idCase(3), async (c) => {
      const id =
        c.kind === 'existing'
          ? keys[c.pick % keys.length]
          : c.kind === 'raw-path'
            ? c.path
            : encode(c.id);
      const res = await check(route, c, http().delete(`/api-keys/${id}`), {
        documented: c.kind === 'raw-path' ? '' : route,
      });
      const expected =
        c.kind === 'existing' ? [204] : c.kind === 'missing-uuid' ? [404] : [400, 404];
      if (c.kind !== 'raw-path' && !expected.includes(res.status))
        violation(route, `expected ${expected.join(' or ')}`, c, res);
      if (res.status === 204) {
        if (c.kind === 'existing') revoked.add(id);
        else violation(route, 'revoked a key the test did not pick', c, res);
      }
    });
    return {
      audited: (await audited('key.revoke')) - before,
      rows: await count('SELECT count(*)::int AS n FROM api_key WHERE revoked_at IS NOT NULL'),
    };
  });

  const readAudit = once(async () => {
    await revokeKeys();
    const route = 'GET /audit';
    const before = await audited('key.create');
    await run(route, auditCase, async (c) => {
      const res = await check(route, c.query, http().get(`/audit?${c.query}`));
      if (unknownParams(c.query, AUDIT_PARAMS).length > 0 && res.status !== 400)
        violation(route, 'unknown parameter not refused', c, res);
      const v = c.valid;
      if (!v) return;
      if (v.since && v.until && v.since > v.until) {
        if (res.status !== 400) violation(route, 'since after until not refused', c, res);
        return;
      }
      const body = res.body as {
        items?: { at: string; action: string; actor: { name: string }; target: { id: string } }[];
        total?: number;
      };
      if (res.status !== 200 || !body.items)
        return violation(route, 'valid filter refused', c, res);
      const wrong = body.items.filter(
        (i) =>
          (v.action && i.action !== v.action) ||
          (v.actor && i.actor.name !== v.actor) ||
          (v.targetId && i.target.id !== v.targetId) ||
          (v.since && i.at < v.since) ||
          (v.until && i.at > v.until),
      );
      if (wrong.length > 0) violation(route, 'a row outside the filter', c, res);
      if (body.items.length > Number(v.limit ?? 50)) violation(route, 'limit ignored', c, res);
      const times = body.items.map((i) => i.at);
      if (times.join() !== [...times].sort().reverse().join())
        violation(route, 'not newest first', c, res);
    });
    return { createdWhileReading: (await audited('key.create')) - before };
  });

  /** Needs no other route's state: it makes its own key to guess at. */
  const guessAuthorization = once(async () => {
    const route = 'Authorization';
    const live = (
      await http()
        .post('/api-keys')
        .set('Authorization', t.auth)
        .send({ name: 'fuzz target', scopes: ['users:read'] })
    ).body.key as string;
    const printable = fc.string({ maxLength: 60 }).filter((v) => /^[\x21-\x7e]*$/.test(v));
    const header = fc.oneof(
      printable.map((v) => `Bearer scp_${v}`),
      fc
        .string({ minLength: 43, maxLength: 43, unit: fc.constantFrom(...'ABCxyz019-_') })
        .map((v) => `Bearer scp_${v}`),
      fc.nat({ max: 46 }).map((n) => `Bearer ${live.slice(0, n)}`),
      fc.tuple(fc.nat({ max: live.length - 1 }), fc.constantFrom(...'AZaz09-_')).map(([i, ch]) => {
        const changed = live.slice(0, i) + ch + live.slice(i + 1);
        return `Bearer ${changed === live ? `${live}x` : changed}`;
      }),
      printable.map((v) => `Bearer ${v}`),
      printable,
      fc.constantFrom(
        `bearer  ${live}x`,
        `Basic ${live}`,
        `Bearer ${live} ${live}`,
        `Bearer ${TEST_TOKEN}x`,
      ),
    );
    await run(route, header, async (auth) => {
      const res = await check(route, auth, http().get('/users'), {
        auth,
        documented: 'GET /users',
      });
      if (res.status !== 401) violation(route, 'not a 401', auth, res);
    });
    return { live };
  });

  it(`POST /api-keys: ${KEY_RUNS['POST /api-keys']} generated bodies; the README decides 201 or 400`, async () => {
    const { rows, audited: auditRows } = await createKeys();
    expect(fuzz.report('POST /api-keys')).toEqual([]);
    // A row and an audit row for each 201, and nothing for a 400.
    expect(rows).toBe(keys.length);
    expect(auditRows).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(50);
  }, 240_000);

  it(`GET /api-keys: ${KEY_RUNS['GET /api-keys']} generated limits and offsets`, async () => {
    await listKeys();
    expect(fuzz.report('GET /api-keys')).toEqual([]);
  }, 240_000);

  it(`DELETE /api-keys/:id: ${KEY_RUNS['DELETE /api-keys/:id']} generated ids; only a real key is revoked`, async () => {
    const { rows, audited: auditRows } = await revokeKeys();
    expect(fuzz.report('DELETE /api-keys/:id')).toEqual([]);
    // One audit row per key revoked, however often it was revoked again.
    expect(auditRows).toBe(revoked.size);
    expect(rows).toBe(revoked.size);
    expect(revoked.size).toBeGreaterThan(5);
  }, 240_000);

  it(`GET /audit: ${KEY_RUNS['GET /audit']} generated filters; what a valid filter returns matches it`, async () => {
    const { createdWhileReading } = await readAudit();
    expect(fuzz.report('GET /audit')).toEqual([]);
    // Reading wrote nothing.
    expect(createdWhileReading).toBe(0);
  }, 240_000);

  it(`Authorization: ${KEY_RUNS.Authorization} generated bearer values are each a 401, never a 5xx`, async () => {
    const { live } = await guessAuthorization();
    expect(fuzz.report('Authorization')).toEqual([]);
    await http().get('/users').set('Authorization', `Bearer ${live}`).expect(200);
  }, 240_000);

  it('sent exactly the planned requests', async () => {
    await readAudit();
    await guessAuthorization();
    const sent = Object.fromEntries(Object.entries(fuzz.stats).map(([r, s]) => [r, s.sent]));
    expect(sent).toEqual(KEY_RUNS);
  }, 240_000);
});
