import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { createKey } from './support/api-keys';
import { ErrorBodies, expectSecurityHeaders, rawRequest } from './support/hostile-harness';
import { serverUrl } from './support/test-database';

/** Failed authentication, by token or by API key: counted per client address, then blocked. */

describe('failed authentication is rate-limited per client address (AUTH_FAILURE_LIMIT=5)', () => {
  let t: TestApp;
  let baseUrl: string;
  const WRONG = 'Bearer wrong-token-0123456789abcdef';

  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '5' });
    // Listening on 127.0.0.1 lets a request come from another loopback address (127.0.0.2).
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
  });
  afterAll(() => t.close());

  it('five wrong tokens get 401; the sixth gets 429 with Retry-After; then the right token gets 429 too', async () => {
    const errors = new ErrorBodies();
    for (let i = 1; i <= 5; i++) {
      const res = errors.collect(
        'wrong token',
        await request(baseUrl).get('/users').set('Authorization', WRONG),
      );
      expect({ attempt: i, status: res.status, message: res.body.message }).toEqual({
        attempt: i,
        status: 401,
        message: 'Invalid API token',
      });
      expect(res.headers['retry-after']).toBeUndefined();
    }
    const sixth = errors.collect(
      '6th wrong token',
      await request(baseUrl).get('/users').set('Authorization', WRONG),
    );
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBe(60);
    expect(sixth.body).toEqual({
      statusCode: 429,
      error: 'TOO_MANY_REQUESTS',
      message: 'Too many failed authentication attempts from this address; retry in 60 s',
      requestId: expect.any(String),
    });
    expectSecurityHeaders(sixth, '429');

    // Blocked means blocked: a correct guess now gains nothing, on any protected route.
    for (const [method, path] of [
      ['get', '/users'],
      ['post', '/apply?dryRun=true'],
      ['get', '/apply/logs'],
    ] as const) {
      const res = errors.collect(
        'right token while blocked',
        await request(baseUrl)[method](path).set('Authorization', t.auth),
      );
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(res.body.message).toMatch(
        /^Too many failed authentication attempts .*retry in \d+ s$/,
      );
    }
    const noHeader = errors.collect('no token while blocked', await request(baseUrl).get('/users'));
    expect(noHeader.status).toBe(429);

    // Proxy headers are not trusted (no trust proxy), so they cannot dodge the block.
    const spoofed = errors.collect(
      'spoofed X-Forwarded-For',
      await request(baseUrl)
        .get('/users')
        .set('Authorization', t.auth)
        .set('X-Forwarded-For', '203.0.113.7')
        .set('X-Real-IP', '203.0.113.7'),
    );
    expect(spoofed.status).toBe(429);

    // The public health check stays reachable.
    const health = await request(baseUrl).get('/health');
    expect(health.status).toBe(200);
    errors.expectClean([401, 429]);
  });

  it('another client address is not blocked and has its own budget', async () => {
    const errors = new ErrorBodies();
    const from = (auth: string, localAddress: string) =>
      rawRequest(baseUrl, {
        method: 'GET',
        path: '/users',
        headers: { Authorization: auth },
        localAddress,
      });
    // This test blocks an address of its own, so it holds whether or not the one above ran.
    for (let i = 1; i <= 5; i++) {
      expect((await from(WRONG, '127.0.0.7')).status).toBe(401);
    }
    expect(errors.collect('6th wrong token', await from(WRONG, '127.0.0.7')).status).toBe(429);
    const right = await from(t.auth, '127.0.0.2');
    expect(right.status).toBe(200);
    const wrong = errors.collect('wrong token, other address', await from(WRONG, '127.0.0.2'));
    expect(wrong.status).toBe(401);
    // And the blocked address is still blocked.
    const blocked = await from(t.auth, '127.0.0.7');
    expect(blocked.status).toBe(429);
    errors.expectClean([401, 429]);
  });
});

describe('the block ends when the window passes (AUTH_FAILURE_LIMIT=2, AUTH_FAILURE_WINDOW_SECONDS=1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '2', AUTH_FAILURE_WINDOW_SECONDS: '1' });
  });
  afterAll(() => t.close());

  it('blocks after the limit, for every request, then lets the right token in again', async () => {
    const errors = new ErrorBodies();
    const http2 = () => request(t.app.getHttpServer());
    const wrong = () => http2().get('/users').set('Authorization', 'Bearer nope-nope-nope-nope');
    expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(401);
    const third = errors.collect('3rd wrong token', await wrong());
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    const right = await http2().get('/users').set('Authorization', t.auth);
    expect(right.status).toBe(429);

    await sleep(Number(third.headers['retry-after']) * 1000 + 300);
    const after = await http2().get('/users').set('Authorization', t.auth);
    expect(after.status).toBe(200);
    // The count started over with the new window: a wrong token is a plain 401 again.
    expect((await wrong()).status).toBe(401);
    errors.expectClean([429]);
  });
});

describe('API keys under abuse (AUTH_FAILURE_LIMIT=4)', () => {
  let t: TestApp;
  let baseUrl: string;
  const from = (auth: string, localAddress: string, path = '/users', method = 'GET') =>
    rawRequest(baseUrl, { method, path, headers: { Authorization: auth }, localAddress });

  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '4' });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
  });
  afterAll(() => t.close());

  it('guessed, malformed and revoked keys count as failed authentications; then even a live key gets 429', async () => {
    const errors = new ErrorBodies();
    const live = await createKey(t, ['users:read']);
    const revoked = await createKey(t, ['users:read']);
    await request(baseUrl)
      .delete(`/api-keys/${revoked.id}`)
      .set('Authorization', t.auth)
      .expect(204);
    const guesses = [
      revoked.auth,
      `Bearer scp_${'A'.repeat(43)}`,
      `Bearer ${live.key.slice(0, 20)}`,
      `Bearer ${live.prefix}`,
    ];
    for (const guess of guesses) {
      const res = errors.collect('bad key', await from(guess, '127.0.0.3'));
      expect({
        guess,
        status: res.status,
        message: (JSON.parse(res.text) as { message: string }).message,
      }).toEqual({
        guess,
        status: 401,
        message: 'Invalid API token',
      });
    }
    const fifth = errors.collect(
      '5th bad key',
      await from(`Bearer scp_${'B'.repeat(43)}`, '127.0.0.3'),
    );
    expect(fifth.status).toBe(429);
    expect(Number(fifth.headers['retry-after'])).toBe(60);
    expect((await from(live.auth, '127.0.0.3')).status).toBe(429);
    // Another address is not blocked, and the live key works there.
    expect((await from(live.auth, '127.0.0.4')).status).toBe(200);
    errors.expectClean([401, 429]);
  });

  it('a 403 for a missing scope is not a failed authentication: it never leads to 429', async () => {
    const errors = new ErrorBodies();
    const reader = await createKey(t, ['users:read']);
    for (let i = 0; i < 10; i++) {
      const res = errors.collect(
        'missing scope',
        await from(reader.auth, '127.0.0.5', '/apply/logs'),
      );
      expect({ i, status: res.status }).toEqual({ i, status: 403 });
    }
    expect((await from(reader.auth, '127.0.0.5')).status).toBe(200);
    errors.expectClean([403]);
  });

  it('hostile input to /api-keys and /audit gets clean 4xx bodies and writes nothing', async () => {
    const errors = new ErrorBodies();
    const count = async () =>
      (
        await t.pg.query<{ k: number; a: number }>(
          'SELECT (SELECT count(*) FROM api_key)::int AS k, (SELECT count(*) FROM change_audit)::int AS a',
        )
      ).rows[0];
    const before = await count();
    const post = (body: unknown) =>
      request(baseUrl)
        .post('/api-keys')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
    for (const body of [
      '{"name":"x","scopes":["apply"],"__proto__":{"scopes":["keys:admin"]}}',
      { name: 'x', scopes: [{ toString: 'apply' }] },
      { name: 'x'.repeat(101), scopes: ['apply'] },
      { name: ['a'], scopes: ['apply'] },
      { name: 'x', scopes: Array(1000).fill('apply') },
      { name: 'x', scopes: ['apply'], constructor: { prototype: { x: 1 } } },
    ]) {
      const res = errors.collect('hostile key body', await post(body));
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    for (const query of [
      '?since=2026-01-01T00:00:00Z%00',
      "?actor=' OR 1=1 --",
      '?targetId[]=1',
      '?limit=1e3',
      '?until=99999-01-01T00:00:00Z',
      '?action=%FF',
    ]) {
      const res = errors.collect(
        'hostile audit query',
        await request(baseUrl).get(`/audit${query}`).set('Authorization', t.auth),
      );
      expect({ query, status: res.status }).toEqual({
        query,
        status: query.startsWith('?actor') ? 200 : 400,
      });
    }
    expect(await count()).toEqual(before);
    errors.expectClean([400]);
  });

  it('with the database down a key is answered 503, not 401, and it is not counted as a failure', async () => {
    const errors = new ErrorBodies();
    const k = await createKey(t, ['users:read']);
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    const dbName = decodeURIComponent(new URL(t.databaseUrl).pathname.slice(1));
    try {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      for (let i = 0; i < 6; i++) {
        const res = errors.collect('key, database down', await from(k.auth, '127.0.0.6'));
        expect({ i, status: res.status }).toEqual({ i, status: 503 });
      }
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await from(k.auth, '127.0.0.6')).status;
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
    errors.expectClean([503]);
  });
});
