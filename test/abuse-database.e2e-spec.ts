import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp, TEST_TOKEN } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { captureLogs } from './support/captured-logs';
import { ErrorBodies, INTERNALS } from './support/hostile-harness';
import { serverUrl } from './support/test-database';

describe('database errors', () => {
  let t: TestApp;
  let admin: Client;
  let dbName: string;
  const api = () => request(t.app.getHttpServer());
  const terminate = () =>
    admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [dbName],
    );
  const allowConnections = (allow: boolean) =>
    admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS ${allow}`);

  beforeAll(async () => {
    t = await bootApp();
    dbName = decodeURIComponent(new URL(t.databaseUrl).pathname.slice(1));
    // On the server's maintenance database, so it survives terminating the app's backends.
    admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await allowConnections(true).catch(() => undefined);
    await admin.end();
    await t.close();
  });

  it('backends terminated under the pool: answers stay clean and the pool reconnects', async () => {
    const errors = new ErrorBodies();
    await api().get('/users').set('Authorization', t.auth).expect(200);
    await terminate();
    for (let i = 0; i < 3; i++) {
      const res = errors.collect(
        'after pg_terminate_backend',
        await api().get('/users').set('Authorization', t.auth),
      );
      expect([200, 503]).toContain(res.status);
    }
    await api().get('/users').set('Authorization', t.auth).expect(200);
    errors.expectClean([]);
  });

  it('a database refusing connections: clean 5xx bodies, /health 503, no row, recovery afterwards', async () => {
    const errors = new ErrorBodies();
    await allowConnections(false);
    await terminate();
    try {
      const health = await api().get('/health');
      expect(health.status).toBe(503);
      expect(health.body).toEqual({ status: 'error', database: 'down' });
      const answers = [
        await api().get('/users').set('Authorization', t.auth),
        await api()
          .post('/users')
          .set('Authorization', t.auth)
          .send({ name: 'Down', email: 'down@example.com' }),
        await api().post('/apply?dryRun=true').set('Authorization', t.auth),
        await api().get('/apply/status').set('Authorization', t.auth),
      ];
      for (const res of answers) {
        errors.collect('database refusing connections', res);
        expect(res.status).toBeGreaterThanOrEqual(500);
        expect(res.body).toEqual({
          statusCode: res.status,
          error: expect.stringMatching(/^(DATABASE_UNAVAILABLE|INTERNAL_ERROR)$/),
          message: expect.any(String),
          requestId: expect.any(String),
        });
        expect(res.text).not.toMatch(INTERNALS);
        expect(res.text).not.toContain(dbName);
      }
    } finally {
      await allowConnections(true);
    }
    await api().get('/health').expect(200);
    const list = await api().get('/users').set('Authorization', t.auth).expect(200);
    expect(list.body.total).toBe(0);
    errors.expectClean([]);
  });

  it('a database refusing connections is answered 503 DATABASE_UNAVAILABLE, as the README documents', async () => {
    // Regression guard: PostgreSQL's "database is not currently accepting connections" (SQLSTATE 55000) is
    // not one of isConnectionError's codes (src/common/errors/pg-errors.ts), so it is a 500.
    await allowConnections(false);
    await terminate();
    let statuses: number[];
    try {
      statuses = [
        (await api().post('/apply?dryRun=true').set('Authorization', t.auth)).status,
        (await api().get('/users').set('Authorization', t.auth)).status,
      ];
    } finally {
      await allowConnections(true);
    }
    expect(statuses).toEqual([503, 503]);
  });
});

describe('logs at LOG_LEVEL=debug', () => {
  it('are JSON lines with request ids, and never hold the API token, a wrong token, a SIP password or a digest', async () => {
    const box = new AsteriskSandbox();
    const { written, restore } = captureLogs();
    const secrets: string[] = [TEST_TOKEN];
    let t: TestApp | undefined;
    let pg: Client | undefined;
    const admin = new Client({ connectionString: serverUrl() });
    try {
      await admin.connect();
      t = await bootApp(box.env({ LOG_LEVEL: 'debug' }));
      pg = t.pg;
      const api = () => request(t!.app.getHttpServer());
      const auth = { Authorization: t.auth };
      const digests = async () => {
        const { rows } = await pg!.query<{ md5_digest: string; sha256_digest: string }>(
          'SELECT md5_digest, sha256_digest FROM extension',
        );
        return rows.flatMap((r) => [r.md5_digest, r.sha256_digest]);
      };

      const ids: string[] = [];
      for (const [i, name] of ['Log One', 'Log Two', 'Log Three'].entries()) {
        const res = await api()
          .post('/users')
          .set(auth)
          .set('X-Request-Id', `log-create-${i}`)
          .send({ name, email: `log${i}@example.com` })
          .expect(201);
        ids.push(res.body.id);
        secrets.push(res.body.sipPassword);
      }
      secrets.push(...(await digests()));
      for (const id of ids.slice(0, 2)) {
        const res = await api().post(`/users/${id}/sip-password`).set(auth).expect(200);
        secrets.push(res.body.sipPassword);
      }
      secrets.push(...(await digests()));
      await api().post('/apply').set(auth).set('X-Request-Id', 'log-apply').expect(200);
      await api().post('/apply?dryRun=true').set(auth).expect(200);
      await api().get('/users').set(auth).expect(200);
      await api().delete(`/users/${ids[2]}`).set(auth).expect(204);
      await api()
        .post('/users')
        .set(auth)
        .send({ name: 'Bad\n[x]', email: 'bad@example.com' })
        .expect(400);
      const wrongTokens = [
        'Bearer wrong-token-aaaaaaaaaaaaaaaa',
        `Bearer ${TEST_TOKEN}x`,
        TEST_TOKEN,
      ];
      for (const wrong of wrongTokens) {
        await api().get('/users').set('Authorization', wrong).expect(401);
      }
      secrets.push('wrong-token-aaaaaaaaaaaaaaaa');
      // An unexpected error is logged with its details: they must not carry secrets either.
      pg = undefined;
      const dbName = decodeURIComponent(new URL(t.databaseUrl).pathname.slice(1));
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      const down = await api()
        .post('/apply?dryRun=true')
        .set(auth)
        .set('X-Request-Id', 'log-db-down');
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
      expect(down.status).toBeGreaterThanOrEqual(500);
      // Three failures stay under the default limit of 10, so the right token still works.
      await api().get('/users').set(auth).expect(200);
    } finally {
      await admin.end();
      await t?.close();
      restore();
      box.remove();
    }

    const lines = written
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(15);
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as { req?: { id?: string }; msg?: string };
      } catch {
        return { unparsable: l };
      }
    });
    expect(parsed.filter((p) => 'unparsable' in p)).toEqual([]);
    const requestIds = parsed.map((p) => ('req' in p ? p.req?.id : undefined)).filter(Boolean);
    expect(requestIds.length).toBeGreaterThan(10);
    expect(requestIds).toEqual(
      expect.arrayContaining(['log-create-0', 'log-create-2', 'log-apply', 'log-db-down']),
    );
    // Lines outside any request (start-up) are there too, so the capture saw everything.
    expect(
      parsed.some((p) => 'msg' in p && p.msg === 'Nest application successfully started'),
    ).toBe(true);
    // The failure was logged at error level with its error object.
    expect(
      parsed.some(
        (p) => 'req' in p && p.req?.id === 'log-db-down' && (p as { level?: number }).level === 50,
      ),
    ).toBe(true);

    const log = lines.join('\n');
    // 3 passwords + 2 rotated, 3 and 3 digest pairs, the token and a wrong one.
    expect(secrets.length).toBe(1 + 3 + 6 + 2 + 6 + 1);
    expect(secrets.filter((s) => log.includes(s))).toEqual([]);
  });
});
