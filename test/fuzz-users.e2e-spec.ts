import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { stripHeader } from '../src/asterisk/generation/file-header';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { ContractChecker } from './support/contract';
import {
  applyQueryCase,
  encode,
  extensionsQueryCase,
  idCase,
  IdCase,
  listQueryCase,
  logsQueryCase,
  nameIsValid,
  unknownParams,
  UUID_RULE,
} from './support/fuzz-arbitraries';
import {
  CreateCase,
  createCase,
  describeCase,
  patchStatus,
  UpdateCase,
  updateCase,
} from './support/fuzz-user-bodies';
import { parseEndpoints, parseRouting } from './support/generated-config';
import { FuzzHarness, fuzzInBatches, once, SEED } from './support/hostile-harness';

/**
 * Generated input against the user, extension and apply routes of the real app (real
 * PostgreSQL, fake Asterisk CLI), then one real apply whose files must hold every accepted
 * name and no byte of a refused one. Each test fails listing its own route's violations.
 * Reproduce a run with FUZZ_SEED=<seed printed at the end>.
 */

const RUNS = {
  'POST /users': 4000,
  'GET /users': 1600,
  'PATCH /users/:id': 800,
  'GET /extensions': 400,
  'DELETE /users/:id': 1000,
  'POST /users/:id/sip-password': 1000,
  'POST /apply': 800,
  'GET /apply/logs': 400,
} as const;
type Route = keyof typeof RUNS;
const TOTAL = Object.values(RUNS).reduce((a, b) => a + b, 0);

const USER_KEYS = ['createdAt', 'email', 'extension', 'id', 'name', 'sipUsername'];
const MARKER_TOKEN = /zq[a-z]{12}/gi;

interface LiveUser {
  id: string;
  name: string;
  extension: number;
  marker: string;
}

describe('fuzz: 10,000 generated requests across the user, extension and apply routes', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  let pg: Client;
  let baseUrl: string;
  let contract: ContractChecker;
  const http = () => request(baseUrl);
  const harness = new FuzzHarness<Route>(() => contract);
  const violation = (route: Route, rule: string, input: unknown, res?: request.Response) =>
    harness.violation(route, rule, input, res);
  const report = (route: Route) => harness.report(route);
  const stat = (route: Route) => harness.stat(route);
  /** Sends with the right token; `contract: false` for a path that may reach another route. */
  const send = (
    route: Route,
    input: unknown,
    req: request.Test,
    kind?: string,
    { contract: checkContract = true } = {},
  ) => harness.send(route, input, req, { auth: t.auth, kind, documented: checkContract && route });

  const live = new Map<string, LiveUser>();
  const deleted: LiveUser[] = [];
  const rejectedMarkers = new Set<string>();
  /** Markers of names a PATCH replaced: gone from the files after the next apply. */
  const renamedMarkers = new Set<string>();
  let expectedUsers = 0;
  let rotations = 0;

  const counts = async (): Promise<{ users: number; extensions: number }> => {
    const { rows } = await pg.query<{ users: number; extensions: number }>(
      `SELECT (SELECT count(*) FROM "user")::int AS users,
              (SELECT count(*) FROM extension)::int AS extensions`,
    );
    return rows[0];
  };
  let batches = 0;
  /** Every 25 batches: the rows are exactly the creates that answered 201, minus deletes. */
  const checkCountsNow = async (route: Route): Promise<void> => {
    const c = await counts();
    if (c.users !== expectedUsers || c.extensions !== expectedUsers) {
      violation(route, 'row count differs from accepted creates minus deletes', {
        expected: expectedUsers,
        ...c,
      });
      expectedUsers = c.users;
    }
  };
  const periodicCount = async (route: Route): Promise<void> => {
    if (++batches % 25 === 0) await checkCountsNow(route);
  };

  /** Runs RUNS[route] generated cases, BATCH at a time, then checks the row count. */
  const fuzz = async <T>(
    route: Route,
    arb: fc.Arbitrary<T>,
    run: (c: T) => Promise<void>,
    seed = SEED,
  ): Promise<void> => {
    await fuzzInBatches(arb, run, {
      runs: RUNS[route],
      seed,
      afterBatch: () => periodicCount(route),
    });
    await checkCountsNow(route);
  };

  beforeAll(async () => {
    box = new AsteriskSandbox();
    // A wide range, so thousands of creates never run out of extensions.
    t = await bootApp(box.env({ EXTENSION_MIN: '1000', EXTENSION_MAX: '9999' }));
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
    pg = t.pg;
    contract = new ContractChecker((await request(baseUrl).get('/docs-json').expect(200)).body);
  });

  afterAll(async () => {
    const sent = Object.values(harness.stats).reduce((a, s) => a + s.sent, 0);
    console.log(
      [
        `fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces): ${sent} generated requests`,
        ...harness.summary(),
        `users accepted ${live.size + deleted.length}, deleted ${deleted.length}, rotated ${rotations}, rejected markers ${rejectedMarkers.size}`,
      ].join('\n'),
    );
    await t?.close();
    box?.remove();
  });

  const runCreate = async (c: CreateCase): Promise<void> => {
    const input = describeCase(c);
    let req = http().post('/users');
    if (c.raw) {
      req = req.set('Content-Type', c.contentType ?? 'application/json');
      if (c.contentEncoding) req = req.set('Content-Encoding', c.contentEncoding);
      // Without this superagent JSON-encodes a Buffer, and the bytes never reach the app.
      req = req.serialize((b: unknown) => b as string).send(c.raw);
    } else {
      req = req.send(c.body);
    }
    const kind = c.contentEncoding
      ? `${c.kind} with Content-Encoding ${c.contentEncoding}`
      : c.kind;
    const res = await send('POST /users', input, req, kind);
    if (res.status !== 201) {
      rejectedMarkers.add(c.marker.toLowerCase());
      if (c.expect === 'created') violation('POST /users', `valid body refused`, input, res);
      return;
    }
    expectedUsers++;
    const body = res.body as {
      id: string;
      name: string;
      extension: number;
      sipPassword: string;
    };
    live.set(body.id, {
      id: body.id,
      name: body.name,
      extension: body.extension,
      marker: c.marker,
    });
    if (c.expect === 'rejected') violation('POST /users', `${c.kind} accepted`, input, res);
    if (!nameIsValid(body.name) || body.name !== body.name.trim()) {
      violation('POST /users', 'accepted a name outside the README rule', input, res);
    }
    const sent = c.body?.name;
    if (typeof sent === 'string' && body.name !== sent.trim()) {
      violation('POST /users', 'stored name differs from the trimmed input', input, res);
    }
    if (!/^[A-Za-z0-9]{24}$/.test(body.sipPassword) || !Number.isInteger(body.extension)) {
      violation('POST /users', 'malformed 201 body', input, res);
    }
  };

  /** The path for an id case, and the status the README promises for it. */
  const target = (
    c: IdCase,
    claim: boolean,
  ): { id: string; path: string; expect: 'found' | 404 | 400 | 'any'; user?: LiveUser } => {
    if (c.kind === 'existing') {
      const users = [...live.values()];
      if (users.length > 0) {
        const user = users[c.pick % users.length];
        // Claimed before sending, so two deletes in one batch never race for the same user.
        if (claim) live.delete(user.id);
        return { id: user.id, path: user.id, expect: 'found', user };
      }
      const id = randomUUID();
      return { id, path: id, expect: 404 };
    }
    if (c.kind === 'raw-path') return { id: c.path, path: c.path, expect: 'any' };
    // "." and ".." are path segments: the client resolves them before the request is sent.
    if (c.id === '.' || c.id === '..') return { id: c.id, path: encode(c.id), expect: 'any' };
    return { id: c.id, path: encode(c.id), expect: UUID_RULE.test(c.id) ? 404 : 400 };
  };

  const expectStatus = (
    route: Route,
    want: 'found' | 404 | 400 | 'any',
    found: number,
    input: unknown,
    res: request.Response,
  ): void => {
    if (want === 'any') return;
    const status = want === 'found' ? found : want;
    if (res.status !== status) violation(route, `expected ${status}`, input, res);
  };

  const userRow = async (id: string): Promise<{ name: string; email: string } | undefined> =>
    (
      await pg.query<{ name: string; email: string }>(
        'SELECT name, email FROM "user" WHERE id = $1',
        [id],
      )
    ).rows[0];

  /*
   * Each route's run is a step that runs once, after the steps of the routes before it: a
   * test awaits its step, so it sees the users the earlier routes left whether or not their
   * tests ran, and the request counts per route stay as planned.
   */
  const createUsers = once(async () => {
    await fuzz('POST /users', createCase, runCreate);
    return { counts: await counts(), expectedUsers };
  });

  const listUsers = once(async () => {
    await createUsers();

    await fuzz('GET /users', listQueryCase, async (c) => {
      const res = await send('GET /users', c.query, http().get(`/users?${c.query}`));
      if (c.valid && res.status !== 200) violation('GET /users', 'valid query refused', c, res);
      if (unknownParams(c.query, ['search', 'limit', 'offset']).length > 0 && res.status !== 400) {
        violation('GET /users', 'unknown parameter not refused with 400', c, res);
      }
      if (res.status !== 200) return;
      const body = res.body as { items: Record<string, unknown>[]; total: number };
      if (!Array.isArray(body.items) || typeof body.total !== 'number') {
        violation('GET /users', 'malformed 200 body', c, res);
        return;
      }
      if (/password|digest/i.test(res.text)) violation('GET /users', 'credentials listed', c, res);
      const exts = body.items.map((u) => u.extension as number);
      if (exts.some((e, i) => i > 0 && e <= exts[i - 1])) {
        violation('GET /users', 'not ordered by extension', c, res);
      }
      if (body.items.some((u) => Object.keys(u).sort().join() !== USER_KEYS.join())) {
        violation('GET /users', 'unexpected user fields', c, res);
      }
      if (c.valid && c.valid.search === undefined) {
        const limit = c.valid.limit ?? 1000;
        const offset = c.valid.offset ?? 0;
        const page = Math.max(0, Math.min(limit, expectedUsers - offset));
        if (body.total !== expectedUsers || body.items.length !== page) {
          violation('GET /users', 'total or page size wrong', { ...c, expectedUsers }, res);
        }
      }
    });
  });

  const patchUsers = once(async () => {
    await listUsers();

    const route = 'PATCH /users/:id';
    await fuzz(
      route,
      updateCase,
      async (c: UpdateCase) => {
        const to = target(c.target, true);
        // The user whose email a 'taken' case asks for, claimed too so no case changes it meanwhile.
        const other = c.expect === 'taken' ? [...live.values()][0] : undefined;
        if (other) live.delete(other.id);
        try {
          const before = to.user ? await userRow(to.id) : undefined;
          let body = c.body;
          if (c.expect === 'taken')
            body = {
              email: other ? (await userRow(other.id))?.email.toUpperCase() : 'nobody@example.com',
            };
          const input = { kind: c.kind, target: c.target, id: to.id, body: body ?? c.raw };
          let req = http().patch(`/users/${to.path}`);
          req =
            c.raw !== undefined
              ? req.set('Content-Type', 'application/json').send(c.raw)
              : req.send(body);
          const res = await send(route, input, req, c.kind, { contract: to.expect !== 'any' });
          if (res.status !== 200) rejectedMarkers.add(c.marker.toLowerCase());
          if (to.expect === 'any' || (c.expect === 'taken' && !other)) return;
          const want = patchStatus(to.expect, c.expect);
          // A generated email may repeat one a create used: then its 409 is right.
          const sentEmail = (body as { email?: unknown } | undefined)?.email;
          const takenElsewhere =
            res.status === 409 &&
            typeof sentEmail === 'string' &&
            (
              await pg.query('SELECT 1 FROM "user" WHERE lower(email) = lower($1) AND id <> $2', [
                sentEmail.trim(),
                to.id,
              ])
            ).rowCount === 1;
          if (want && !want.includes(res.status) && !takenElsewhere) {
            violation(route, `expected ${want.join(' or ')} (${c.kind})`, input, res);
          }
          if (!to.user || !before) return;
          const after = await userRow(to.id);
          if (res.status !== 200) {
            if (JSON.stringify(after) !== JSON.stringify(before))
              violation(route, `${res.status} changed the row`, input, res);
            return;
          }
          const u = res.body as Record<string, unknown>;
          const sent = body as { name?: unknown; email?: unknown };
          const name = typeof sent.name === 'string' ? sent.name.trim() : before.name;
          const email = typeof sent.email === 'string' ? sent.email.trim() : before.email;
          if (
            Object.keys(u).sort().join() !== USER_KEYS.join() ||
            u.id !== to.id ||
            u.extension !== to.user.extension ||
            u.name !== name ||
            u.email !== email ||
            JSON.stringify(after) !== JSON.stringify({ name, email })
          ) {
            violation(route, '200 body or row differs from what was sent', input, res);
          }
          if (!nameIsValid(name))
            violation(route, 'accepted a name outside the README rule', input, res);
          if (name !== to.user.name) {
            if (to.user.name.includes(to.user.marker))
              renamedMarkers.add(to.user.marker.toLowerCase());
            to.user = {
              ...to.user,
              name,
              marker: name.includes(c.marker) ? c.marker : to.user.marker,
            };
          }
        } finally {
          if (to.user) live.set(to.user.id, to.user);
          if (other) live.set(other.id, other);
        }
        // Another seed than the creates', whose markers (and so emails) it would repeat.
      },
      SEED + 1,
    );
  });

  const listExtensions = once(async () => {
    await patchUsers();

    const route = 'GET /extensions';
    const SIZE = 9000;
    await fuzz(route, extensionsQueryCase, async (c) => {
      const res = await send(route, c.query, http().get(`/extensions?${c.query}`));
      const params = new URLSearchParams(c.query);
      const statuses = params.getAll('status');
      if (unknownParams(c.query, ['status', 'limit', 'offset']).length > 0 && res.status !== 400) {
        violation(route, 'unknown parameter not refused with 400', c, res);
      }
      if (statuses.some((v) => v !== 'free' && v !== 'used') && res.status !== 400) {
        violation(route, 'status other than free or used not refused with 400', c, res);
      }
      if (c.valid && res.status !== 200) violation(route, 'valid query refused', c, res);
      if (res.status !== 200) return;
      const body = res.body as {
        items: { number: number; userId: string | null }[];
        total: number;
      };
      const status = statuses[0];
      const numbers = body.items.map((e) => e.number);
      if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]))
        violation(route, 'not in order', c, res);
      if (status && body.items.some((e) => (e.userId !== null) !== (status === 'used'))) {
        violation(route, 'status filter not applied', c, res);
      }
      if (body.items.some((e) => e.userId !== null && !UUID_RULE.test(e.userId))) {
        violation(route, 'malformed userId', c, res);
      }
      if (c.valid) {
        const total =
          status === 'used' ? expectedUsers : status === 'free' ? SIZE - expectedUsers : SIZE;
        const page = Math.max(0, Math.min(c.valid.limit ?? 1000, total - (c.valid.offset ?? 0)));
        if (body.total !== total || body.items.length !== page) {
          violation(route, 'total or page size wrong', { ...c, expectedUsers }, res);
        }
      }
    });
  });

  const rotatePasswords = once(async () => {
    await listExtensions();

    const route = 'POST /users/:id/sip-password';
    await fuzz(route, idCase(2), async (c) => {
      const to = target(c, false);
      const input = { ...c, id: to.id };
      const res = await send(
        route,
        input,
        http().post(`/users/${to.path}/sip-password`),
        undefined,
        {
          contract: to.expect !== 'any',
        },
      );
      expectStatus(route, to.expect, 200, input, res);
      if (res.status === 200) {
        rotations++;
        if (!/^[A-Za-z0-9]{24}$/.test((res.body as { sipPassword: string }).sipPassword)) {
          violation(route, 'malformed 200 body', input, res);
        }
      }
    });
  });

  const deleteUsers = once(async () => {
    await rotatePasswords();

    const route = 'DELETE /users/:id';
    await fuzz(route, idCase(1), async (c) => {
      const to = target(c, true);
      const input = { ...c, id: to.id };
      const res = await send(route, input, http().delete(`/users/${to.path}`), undefined, {
        contract: to.expect !== 'any',
      });
      expectStatus(route, to.expect, 204, input, res);
      if (res.status === 204) {
        expectedUsers--;
        if (to.user) deleted.push(to.user);
        else violation(route, 'deleted a user the test did not pick', input, res);
      } else if (to.user) {
        live.set(to.user.id, to.user);
      }
    });
  });

  const applyConfig = once(async () => {
    await deleteUsers();

    const route = 'POST /apply';
    // Start from applied state, so each dry run compares equal files instead of diffing them.
    const first = await http().post('/apply').set('Authorization', t.auth);
    expect(first.status).toBe(200);
    await fuzz(route, applyQueryCase(1), async (c) => {
      const res = await send(route, c.query, http().post(`/apply?${c.query}`));
      const unknown = unknownParams(c.query, ['dryRun']).length > 0;
      if (c.mode === 'any' && !unknown) return;
      if (c.mode === undefined || unknown) {
        if (res.status !== 400) violation(route, 'expected 400', c, res);
        return;
      }
      const body = res.body as { dryRun?: boolean; outcome?: string; users?: number };
      const ok =
        res.status === 200 &&
        body.users === expectedUsers &&
        (c.mode === 'dry' ? body.dryRun === true : body.outcome === 'success');
      if (!ok) violation(route, `valid ${c.mode} apply failed`, c, res);
    });
  });

  const readApplyLogs = once(async () => {
    await applyConfig();

    const route = 'GET /apply/logs';
    await fuzz(route, logsQueryCase, async (c) => {
      const res = await send(route, c.query, http().get(`/apply/logs?${c.query}`));
      if (unknownParams(c.query, ['limit', 'offset']).length > 0 && res.status !== 400) {
        violation(route, 'unknown parameter not refused with 400', c, res);
      }
      if (c.valid === undefined) return;
      const body = res.body as { items?: { id: string; outcome: string }[]; total?: number };
      const { limit, offset } = c.valid;
      if (
        res.status !== 200 ||
        !Array.isArray(body.items) ||
        typeof body.total !== 'number' ||
        body.items.length !== Math.max(0, Math.min(limit, body.total - offset))
      ) {
        violation(route, 'valid page refused, or limit/offset ignored', c, res);
      } else if (body.items.some((r) => !UUID_RULE.test(r.id) || typeof r.outcome !== 'string')) {
        violation(route, 'malformed log entry', c, res);
      }
    });
  });

  it(`POST /users: ${RUNS['POST /users']} generated bodies; no 5xx, 4xx writes no row`, async () => {
    const created = await createUsers();
    expect(report('POST /users')).toEqual([]);
    expect(created.counts).toEqual({
      users: created.expectedUsers,
      extensions: created.expectedUsers,
    });
    // The generators must have produced both outcomes in quantity to mean anything.
    expect(stat('POST /users').accepted).toBeGreaterThan(150);
    expect(stat('POST /users').rejected).toBeGreaterThan(1500);
  }, 240_000);

  it(`GET /users: ${RUNS['GET /users']} generated query strings`, async () => {
    await listUsers();
    expect(report('GET /users')).toEqual([]);
    expect(stat('GET /users').accepted).toBeGreaterThan(200);
  }, 240_000);

  it(`PATCH /users/:id: ${RUNS['PATCH /users/:id']} generated ids and bodies; 4xx writes nothing`, async () => {
    const route = 'PATCH /users/:id';
    await patchUsers();
    expect(report(route)).toEqual([]);
    expect(stat(route).accepted).toBeGreaterThan(50);
    expect(stat(route).statuses[409]).toBeGreaterThan(5);
  }, 240_000);

  it(`GET /extensions: ${RUNS['GET /extensions']} generated query strings`, async () => {
    const route = 'GET /extensions';
    await listExtensions();
    expect(report(route)).toEqual([]);
    expect(stat(route).accepted).toBeGreaterThan(100);
  }, 240_000);

  it(`POST /users/:id/sip-password: ${RUNS['POST /users/:id/sip-password']} generated ids`, async () => {
    await rotatePasswords();
    expect(report('POST /users/:id/sip-password')).toEqual([]);
    expect(rotations).toBeGreaterThan(50);
  }, 240_000);

  it(`DELETE /users/:id: ${RUNS['DELETE /users/:id']} generated ids`, async () => {
    await deleteUsers();
    expect(report('DELETE /users/:id')).toEqual([]);
    expect(deleted.length).toBeGreaterThan(10);
  }, 240_000);

  it(`POST /apply: ${RUNS['POST /apply']} generated query strings (dry runs and real applies)`, async () => {
    await applyConfig();
    expect(report('POST /apply')).toEqual([]);
  }, 240_000);

  it(`GET /apply/logs: ${RUNS['GET /apply/logs']} generated limits and offsets`, async () => {
    await readApplyLogs();
    expect(report('GET /apply/logs')).toEqual([]);
  }, 240_000);

  it('sent exactly the planned 10,000 generated requests', async () => {
    await readApplyLogs();
    expect(TOTAL).toBe(10_000);
    expect(Object.values(harness.stats).reduce((a, s) => a + s.sent, 0)).toBe(TOTAL);
    const sent = Object.fromEntries(Object.entries(harness.stats).map(([r, s]) => [r, s.sent]));
    expect(sent).toEqual(RUNS);
  }, 240_000);

  it('a real apply writes every accepted name only in well-formed callerid lines, and no byte of a rejected one', async () => {
    await readApplyLogs();
    const res = await http().post('/apply').set('Authorization', t.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'success', users: live.size });
    const endpointsFile = box.read(box.endpointsFile) ?? '';
    const routingFile = box.read(box.routingFile) ?? '';
    const parsed = parseEndpoints(stripHeader(endpointsFile));
    expect(parsed.problems.slice(0, 20)).toEqual([]);
    expect(parseRouting(stripHeader(routingFile)).slice(0, 20)).toEqual([]);

    // Each live user: its extension's callerid carries exactly its name; its marker is on
    // that one line and nowhere else.
    const lines = endpointsFile.split('\n');
    const wrong: string[] = [];
    for (const u of live.values()) {
      const line = `callerid="${u.name}" <${u.extension}>`;
      if (parsed.names.get(u.extension) !== u.name) wrong.push(`${u.extension}: ${u.name}`);
      const withMarker = lines.filter((l) => l.includes(u.marker));
      if (u.name.includes(u.marker) && (withMarker.length !== 1 || withMarker[0] !== line)) {
        wrong.push(`${u.marker} on ${JSON.stringify(withMarker)}`);
      }
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(parsed.names.size).toBe(live.size);

    // Rejected and deleted values: not in either file, and not in the database.
    const gone = new Set([
      ...rejectedMarkers,
      ...renamedMarkers,
      ...deleted.map((u) => u.marker.toLowerCase()),
    ]);
    const tokens = (text: string): string[] =>
      [...text.matchAll(MARKER_TOKEN)].map((m) => m[0].toLowerCase());
    const leakedToFiles = tokens(endpointsFile + routingFile).filter((m) => gone.has(m));
    expect(leakedToFiles).toEqual([]);
    const { rows } = await pg.query<{ text: string | null }>(
      `SELECT string_agg(name || ' ' || email, E'\\n') AS text FROM "user"`,
    );
    const leakedToDb = tokens(rows[0].text ?? '').filter((m) => rejectedMarkers.has(m));
    expect(leakedToDb).toEqual([]);
    expect(rejectedMarkers.size).toBeGreaterThan(1500);
  }, 240_000);
});
