import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox, FakeContact } from './support/asterisk-sandbox';
import { Exposition, parseExposition, sampleValue } from './support/prometheus';
import { serverUrl } from './support/test-database';

describe('GET /metrics (Prometheus text format; real PostgreSQL, fake Asterisk CLI)', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  const api = (app = t) => request(app.app.getHttpServer());
  const scrape = async (app = t): Promise<Exposition> => {
    const res = await api(app).get('/metrics').set('Authorization', app.auth).expect(200);
    const [type, ...params] = String(res.headers['content-type']).split(/;\s*/);
    expect({ type, params: params.sort() }).toEqual({
      type: 'text/plain',
      params: ['charset=utf-8', 'version=0.0.4'],
    });
    return parseExposition(res.text);
  };
  const create = async (name: string, email: string): Promise<{ id: string }> =>
    (await api().post('/users').set('Authorization', t.auth).send({ name, email }).expect(201))
      .body;
  const apply = () => api().post('/apply').set('Authorization', t.auth);
  const phones = (exp: Exposition) =>
    Object.fromEntries(
      exp.samples.filter((s) => s.name === 'portal_phones').map((s) => [s.labels.state, s.value]),
    );
  const requests = (exp: Exposition, labels: Record<string, string>): number =>
    sampleValue(exp, 'http_request_duration_seconds_count', labels) ?? 0;
  const applies = (exp: Exposition) =>
    Object.fromEntries(
      ['success', 'failed', 'rolled_back'].map((outcome) => [
        outcome,
        {
          total: sampleValue(exp, 'portal_applies_total', { outcome }),
          count: sampleValue(exp, 'portal_apply_duration_seconds_count', { outcome }),
        },
      ]),
    );

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
  });
  afterAll(async () => {
    await t?.close();
    box?.remove();
  });

  it('needs a valid token, as every route does, and takes no parameter', async () => {
    const none = await api().get('/metrics');
    const wrong = await api().get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789');
    const basic = await api().get('/metrics').set('Authorization', 'Basic abc');
    expect([none, wrong, basic].map((r) => [r.status, r.body.message])).toEqual([
      [401, 'Missing Authorization header: send "Bearer <token>"'],
      [401, 'Invalid API token'],
      [401, 'Authorization header must be "Bearer <token>"'],
    ]);
    expect(none.text).not.toContain('process_cpu');
    const query = await api().get('/metrics?name=portal_users').set('Authorization', t.auth);
    expect([query.status, query.body.message]).toEqual([400, 'property name should not exist']);
  });

  it('answers the text exposition format, with the default process metrics and every portal metric', async () => {
    const exp = await scrape();
    for (const [name, type] of [
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['http_request_duration_seconds', 'histogram'],
      ['portal_apply_duration_seconds', 'histogram'],
      ['portal_applies_total', 'counter'],
      ['portal_users', 'gauge'],
      ['portal_config_pending', 'gauge'],
      ['portal_phones', 'gauge'],
      ['portal_database_up', 'gauge'],
    ]) {
      expect({ name, type: exp.types.get(name) }).toEqual({ name, type });
      expect({ name, help: exp.help.get(name) }).toEqual({
        name,
        help: expect.stringMatching(/\S/),
      });
    }
    // Each outcome exists from the start, at 0, so a rate() over it is defined.
    expect(applies(exp)).toEqual({
      success: { total: 0, count: 0 },
      failed: { total: 0, count: 0 },
      rolled_back: { total: 0, count: 0 },
    });
    // Every state has its sample, at 0 before any user exists.
    expect(phones(exp)).toEqual({ registered: 0, unreachable: 0, unregistered: 0, unknown: 0 });
  });

  it('the parser refuses what a scraper would', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v\\"q"} 1\n';
    expect(sampleValue(parseExposition(ok), 'a_total', { k: 'v"q' })).toBe(1);
    // Values as Go's ParseFloat reads them: NaN and Inf in any case.
    const specials = '# TYPE g gauge\ng{a="1"} Nan\ng{a="2"} -inf\ng{a="3"} +Inf\ng{a="4"} 1e3\n';
    expect(parseExposition(specials).samples.map((s) => s.value)).toEqual([
      NaN,
      -Infinity,
      Infinity,
      1000,
    ]);
    for (const bad of [
      'a_total 1\n',
      '# TYPE a_total counter\na_total{k=v} 1\n',
      '# TYPE a_total counter\na_total one\n',
      '# TYPE a_total counter\na_total nanny\n',
      '# TYPE a_total counter\na_total 1',
      '# TYPE a counter\n# TYPE a gauge\n',
      '# TYPE 1a counter\n',
    ]) {
      expect(() => parseExposition(bad)).toThrow();
    }
  });

  it('labels requests by route template, never by the path sent', async () => {
    const user = await create('Route Label', 'route-label@example.com');
    const ghost = randomUUID();
    const auth = { Authorization: t.auth };
    const before = await scrape();
    await api().patch(`/users/${user.id}`).set(auth).send({ name: 'Route Labelled' }).expect(200);
    await api().delete(`/users/${ghost}`).set(auth).expect(404);
    await api().post(`/users/${user.id}/sip-password`).set(auth).expect(200);
    await api().get('/users').expect(401);
    const junk = Array.from({ length: 20 }, () => randomUUID());
    for (const id of junk) await api().get(`/no-such-route/${id}`).set(auth).expect(404);
    await api().post('/users').set(auth).type('form').send('name=x').expect(415);

    const after = await scrape();
    const moved = (labels: Record<string, string>) =>
      requests(after, labels) - requests(before, labels);
    expect({
      patch: moved({ method: 'PATCH', route: '/users/:id', status: '200' }),
      delete: moved({ method: 'DELETE', route: '/users/:id', status: '404' }),
      rotate: moved({ method: 'POST', route: '/users/:id/sip-password', status: '200' }),
      unauthorized: moved({ method: 'GET', route: '/users', status: '401' }),
      unmatched: moved({ method: 'GET', route: 'unmatched', status: '404' }),
      // Refused before routing: no route was matched yet.
      beforeRouting: moved({ method: 'POST', route: 'unmatched', status: '415' }),
    }).toEqual({
      patch: 1,
      delete: 1,
      rotate: 1,
      unauthorized: 1,
      unmatched: 20,
      beforeRouting: 1,
    });

    const text = (await api().get('/metrics').set(auth)).text;
    for (const id of [user.id, ghost, ...junk]) expect(text).not.toContain(id);
    expect(text).not.toContain('no-such-route');
    const routes = new Set(
      after.samples.filter((s) => s.name.startsWith('http_request')).map((s) => s.labels.route),
    );
    for (const route of routes) {
      expect(route).toMatch(/^(unmatched|\/[a-z\-/:]*)$/);
    }
  });

  it('counts applies by outcome, success and both failures, with their durations', async () => {
    await create('Apply Count', 'apply-count@example.com');
    const before = applies(await scrape());

    await apply().expect(200);
    box.setFaults({ down: true });
    const down = await apply();
    box.clearFaults();
    expect([down.status, down.body.outcome]).toEqual([502, 'failed']);

    await create('Refused Object', 'refused@example.com');
    const list = await api().get('/users').set('Authorization', t.auth).expect(200);
    const refused = String(list.body.items[list.body.items.length - 1].extension);
    box.setFaults({ rejectObjects: [refused] });
    const rolledBack = await apply();
    box.clearFaults();
    expect([rolledBack.status, rolledBack.body.outcome]).toEqual([502, 'rolled_back']);

    const after = await scrape();
    const moved = Object.fromEntries(
      Object.entries(applies(after)).map(([outcome, a]) => [
        outcome,
        { total: a.total! - before[outcome].total!, count: a.count! - before[outcome].count! },
      ]),
    );
    expect(moved).toEqual({
      success: { total: 1, count: 1 },
      failed: { total: 1, count: 1 },
      rolled_back: { total: 1, count: 1 },
    });
    // The audit log says the same.
    const { rows } = await t.pg.query(
      'SELECT outcome, count(*)::int AS n FROM apply_audit_log GROUP BY outcome ORDER BY outcome',
    );
    expect(Object.fromEntries(rows.map((r) => [r.outcome, r.n]))).toEqual(
      Object.fromEntries(
        Object.entries(applies(after))
          .filter(([, a]) => a.total! > 0)
          .map(([outcome, a]) => [outcome, a.total]),
      ),
    );
    const sum = sampleValue(after, 'portal_apply_duration_seconds_sum', { outcome: 'success' })!;
    const inf = sampleValue(after, 'portal_apply_duration_seconds_bucket', {
      outcome: 'success',
      le: '+Inf',
    });
    expect(sum).toBeGreaterThan(0);
    expect(inf).toBe(applies(after).success.count);
  });

  it('portal_users counts the users, and portal_config_pending flips with changes and applies', async () => {
    const users = async () =>
      Number((await t.pg.query('SELECT count(*) AS n FROM "user"')).rows[0].n);
    const gauges = async () => {
      const exp = await scrape();
      return {
        users: sampleValue(exp, 'portal_users'),
        pending: sampleValue(exp, 'portal_config_pending', { node: 'local' }),
      };
    };
    await apply().expect(200);
    expect(await gauges()).toEqual({ users: await users(), pending: 0 });

    const u = await create('Pending One', 'pending-one@example.com');
    expect(await gauges()).toEqual({ users: await users(), pending: 1 });
    await apply().expect(200);
    expect(await gauges()).toEqual({ users: await users(), pending: 0 });

    await api().delete(`/users/${u.id}`).set('Authorization', t.auth).expect(204);
    const n = await users();
    expect(await gauges()).toEqual({ users: n, pending: 1 });
    await apply().expect(200);
    expect(await gauges()).toEqual({ users: n, pending: 0 });
    // Behind the API's back too: the gauges read the database at each scrape.
    expect(n).toBeGreaterThan(0);
    await t.pg.query('DELETE FROM "user"');
    expect(await gauges()).toEqual({ users: 0, pending: 1 });
  });

  it('keeps a registry per app instance: a second app in this process counts on its own', async () => {
    const other = await bootApp(box.env());
    try {
      const mine = await scrape();
      const theirs = await scrape(other);
      expect(sampleValue(mine, 'portal_applies_total', { outcome: 'success' })).toBeGreaterThan(0);
      expect(sampleValue(theirs, 'portal_applies_total', { outcome: 'success' })).toBe(0);
      expect(requests(theirs, { method: 'PATCH', route: '/users/:id', status: '200' })).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('portal_phones counts the users by registration state from a listing reused for 30 s', async () => {
    const phonesBox = new AsteriskSandbox();
    const own = await bootApp(phonesBox.env());
    try {
      const ids: string[] = [];
      for (const n of [1, 2, 3, 4]) {
        const res = await api(own)
          .post('/users')
          .set('Authorization', own.auth)
          .send({ name: `Phone ${n}`, email: `phone-${n}@example.com` })
          .expect(201);
        ids.push(res.body.id);
      }
      await api(own).post('/apply').set('Authorization', own.auth).expect(200);
      const expires = Math.floor(Date.now() / 1000) + 300;
      const contact = (aor: string, status: FakeContact['status']): FakeContact => ({
        aor,
        uri: `sip:${aor}@192.0.2.10:5060`,
        expirationTime: expires,
        status,
      });
      phonesBox.setContacts([contact('1000', 'Avail'), contact('1001', 'Unavail')]);
      phonesBox.clearCalls();
      expect(phones(await scrape(own))).toEqual({
        registered: 1,
        unreachable: 1,
        unregistered: 2,
        unknown: 0,
      });
      const listings = () => phonesBox.calls().filter((c) => c === 'pjsip show contacts').length;
      expect(listings()).toBe(1);
      // A second scrape within 30 s answers from the same listing, even though a phone came.
      phonesBox.setContacts([contact('1000', 'Avail'), contact('1002', 'NonQual')]);
      expect(phones(await scrape(own))).toMatchObject({ registered: 1, unreachable: 1 });
      expect(listings()).toBe(1);
    } finally {
      await own.close();
      phonesBox.remove();
    }
  });

  it('portal_phones counts every user as unknown while Asterisk does not answer', async () => {
    const downBox = new AsteriskSandbox();
    const own = await bootApp(downBox.env());
    try {
      await api(own)
        .post('/users')
        .set('Authorization', own.auth)
        .send({ name: 'Down Phone', email: 'down-phone@example.com' })
        .expect(201);
      downBox.setFaults({ down: true });
      expect(phones(await scrape(own))).toEqual({
        registered: 0,
        unreachable: 0,
        unregistered: 0,
        unknown: 1,
      });
    } finally {
      await own.close();
      downBox.remove();
    }
  });

  it('still answers while the database refuses connections: portal_database_up 0, its gauges without a sample', async () => {
    const own = await bootApp(box.env());
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    const dbName = decodeURIComponent(new URL(own.databaseUrl).pathname.slice(1));
    const allow = (yes: boolean) =>
      admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS ${yes}`);
    try {
      expect(sampleValue(await scrape(own), 'portal_database_up')).toBe(1);
      await allow(false);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      const down = await scrape(own);
      expect(sampleValue(down, 'portal_database_up')).toBe(0);
      for (const name of ['portal_users', 'portal_config_pending', 'portal_phones']) {
        expect({ name, samples: down.samples.filter((x) => x.name === name) }).toEqual({
          name,
          samples: [],
        });
      }
      expect(sampleValue(down, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      await allow(true);
      const back = await scrape(own);
      expect(sampleValue(back, 'portal_database_up')).toBe(1);
      expect(sampleValue(back, 'portal_users')).toBe(0);
    } finally {
      await allow(true);
      await admin.end();
      await own.close();
    }
  });
});
