import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp, TEST_TOKEN } from './support/app';
import { createKey } from './support/api-keys';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { captureLogs } from './support/captured-logs';
import { serverUrl } from './support/test-database';

/** Anything in an error body that would tell a caller how the portal is built. */
const INTERNALS =
  /at \S+ \(|\.ts:\d+|\.js:\d+|node_modules|SELECT |INSERT |DELETE FROM|QueryFailedError|duplicate key/;
const BODY_LIMIT = 16 * 1024;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Every error answer any test here received; the last test checks them all. */
const errorBodies: { label: string; status: number; text: string }[] = [];
function collect<T extends Answer>(label: string, res: T): T {
  if (res.status >= 400) errorBodies.push({ label, status: res.status, text: res.text });
  return res;
}

/**
 * A request through node:http, for what supertest cannot send: a chunked body without
 * Content-Length, exact bytes, or a chosen source address.
 */
function rawRequest(
  baseUrl: string,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    chunks?: Buffer[];
    localAddress?: string;
  },
): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    for (const c of options.chunks ?? []) req.write(c);
    req.end();
  });
}

/** Helmet's defaults, as the portal should send them on every answer. */
function expectSecurityHeaders(res: Answer, where: string): void {
  const h = res.headers;
  expect({ where, poweredBy: h['x-powered-by'] }).toEqual({ where, poweredBy: undefined });
  expect({ where, h }).toMatchObject({
    where,
    h: {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringMatching(/^max-age=\d{7,}/),
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-dns-prefetch-control': 'off',
      'x-permitted-cross-domain-policies': 'none',
    },
  });
}

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
    for (let i = 1; i <= 5; i++) {
      const res = collect(
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
    const sixth = collect(
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
      const res = collect(
        'right token while blocked',
        await request(baseUrl)[method](path).set('Authorization', t.auth),
      );
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(res.body.message).toMatch(
        /^Too many failed authentication attempts .*retry in \d+ s$/,
      );
    }
    const noHeader = collect('no token while blocked', await request(baseUrl).get('/users'));
    expect(noHeader.status).toBe(429);

    // Proxy headers are not trusted (no trust proxy), so they cannot dodge the block.
    const spoofed = collect(
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
  });

  it('another client address is not blocked and has its own budget', async () => {
    const from = (auth: string) =>
      rawRequest(baseUrl, {
        method: 'GET',
        path: '/users',
        headers: { Authorization: auth },
        localAddress: '127.0.0.2',
      });
    const right = await from(t.auth);
    expect(right.status).toBe(200);
    const wrong = collect('wrong token, other address', await from(WRONG));
    expect(wrong.status).toBe(401);
    // And 127.0.0.1 is still blocked.
    const blocked = await request(baseUrl).get('/users').set('Authorization', t.auth);
    expect(blocked.status).toBe(429);
  });
});

describe('the block ends when the window passes (AUTH_FAILURE_LIMIT=2, AUTH_FAILURE_WINDOW_SECONDS=1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp({ AUTH_FAILURE_LIMIT: '2', AUTH_FAILURE_WINDOW_SECONDS: '1' });
  });
  afterAll(() => t.close());

  it('blocks after the limit, for every request, then lets the right token in again', async () => {
    const http2 = () => request(t.app.getHttpServer());
    const wrong = () => http2().get('/users').set('Authorization', 'Bearer nope-nope-nope-nope');
    expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(401);
    const third = collect('3rd wrong token', await wrong());
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    const right = await http2().get('/users').set('Authorization', t.auth);
    expect(right.status).toBe(429);

    await sleep(Number(third.headers['retry-after']) * 1000 + 300);
    const after = await http2().get('/users').set('Authorization', t.auth);
    expect(after.status).toBe(200);
    // The count started over with the new window: a wrong token is a plain 401 again.
    expect((await wrong()).status).toBe(401);
  });
});

describe('headers, body limit and error bodies', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  let pg: Client;
  let baseUrl: string;
  const api = () => request(baseUrl);
  const rows = async () =>
    (
      await pg.query<{ users: number; extensions: number; audits: number }>(
        `SELECT (SELECT count(*) FROM "user")::int AS users,
                (SELECT count(*) FROM extension)::int AS extensions,
                (SELECT count(*) FROM apply_audit_log)::int AS audits`,
      )
    ).rows[0];

  beforeAll(async () => {
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
    await t.app.listen(0, '127.0.0.1');
    baseUrl = await t.app.getUrl();
    pg = t.pg;
  });
  afterAll(async () => {
    await t.close();
    box.remove();
  });

  it('helmet headers on /health, on API answers and on errors; no X-Powered-By', async () => {
    const answers: [string, Answer][] = [
      ['GET /health', await api().get('/health')],
      ['GET /users', await api().get('/users').set('Authorization', t.auth)],
      [
        'POST /users',
        await api()
          .post('/users')
          .set('Authorization', t.auth)
          .send({ name: 'Helmet Check', email: 'helmet@example.com' }),
      ],
      [
        'POST /apply?dryRun=true',
        await api().post('/apply?dryRun=true').set('Authorization', t.auth),
      ],
      ['401', collect('no token', await api().get('/users'))],
      ['404', collect('unknown route', await api().get('/nope').set('Authorization', t.auth))],
      [
        '400',
        collect(
          'hostile name',
          await api()
            .post('/users')
            .set('Authorization', t.auth)
            .send({ name: 'Eve\n[evil]', email: 'eve@example.com' }),
        ),
      ],
      [
        '413',
        collect(
          'body over 16 KB',
          await api()
            .post('/users')
            .set('Authorization', t.auth)
            .send({ name: 'x', email: 'x@example.com', pad: 'x'.repeat(BODY_LIMIT) }),
        ),
      ],
    ];
    expect(answers.map(([where, res]) => [where, res.status])).toEqual([
      ['GET /health', 200],
      ['GET /users', 200],
      ['POST /users', 201],
      ['POST /apply?dryRun=true', 200],
      ['401', 401],
      ['404', 404],
      ['400', 400],
      ['413', 413],
    ]);
    for (const [where, res] of answers) expectSecurityHeaders(res, where);
  });

  it('a body over 16 KB gets 413 with a JSON error body on every route, however it is sent, and nothing happens', async () => {
    await pg.query('DELETE FROM "user"');
    /** A JSON body of exactly `bytes` bytes. */
    const sized = (bytes: number): string => {
      const head = JSON.stringify({ name: 'Big', email: 'big@example.com', pad: '' });
      return `${head.slice(0, -2)}${'x'.repeat(bytes - head.length)}"}`;
    };
    expect(Buffer.byteLength(sized(BODY_LIMIT))).toBe(BODY_LIMIT);
    const post = (path: string, body: string) =>
      api()
        .post(path)
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(body);

    // At the limit the body is read (and refused for its unknown field); one byte more is not.
    const atLimit = collect('body at the limit', await post('/users', sized(BODY_LIMIT)));
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.message).toBe('property pad should not exist');

    const expect413 = (res: Answer & { body?: unknown }, where: string) => {
      collect(`413 ${where}`, res);
      expect({ where, status: res.status, type: res.headers['content-type'] }).toEqual({
        where,
        status: 413,
        type: expect.stringMatching(/^application\/json/),
      });
      expect(JSON.parse(res.text)).toMatchObject({
        statusCode: 413,
        error: 'PAYLOAD_TOO_LARGE',
        message: 'Request body is larger than the 16 KB limit',
      });
    };
    expect413(await post('/users', sized(BODY_LIMIT + 1)), 'POST /users, limit + 1 byte');
    expect413(await post('/apply', sized(64 * 1024)), 'POST /apply');
    expect413(
      await api()
        .patch('/users/00000000-0000-4000-8000-000000000001')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(sized(BODY_LIMIT + 1)),
      'PATCH /users/:id',
    );
    expect413(
      await post('/users/00000000-0000-4000-8000-000000000001/sip-password', sized(20_000)),
      'POST /users/:id/sip-password',
    );
    // Chunked, so there is no Content-Length to refuse up front: the stream is cut off.
    expect413(
      await rawRequest(baseUrl, {
        method: 'POST',
        path: '/users',
        headers: { Authorization: t.auth, 'Content-Type': 'application/json' },
        chunks: Array.from({ length: 40 }, () => Buffer.from('x'.repeat(1024))),
      }),
      'chunked body',
    );
    // The limit applies to the inflated size: 1 KB of gzip that inflates to 1 MB is refused.
    const bomb = gzipSync(sized(1024 * 1024));
    expect(bomb.length).toBeLessThan(BODY_LIMIT);
    expect413(
      await rawRequest(baseUrl, {
        method: 'POST',
        path: '/users',
        headers: {
          Authorization: t.auth,
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
        },
        chunks: [bomb],
      }),
      'gzip bomb',
    );
    expect(await rows()).toEqual({ users: 0, extensions: 0, audits: 0 });
    expect(box.listing()).toEqual([]);
  });

  it('malformed JSON, unknown routes, duplicates, bad ids and hostile input get clean 4xx bodies', async () => {
    const auth = { Authorization: t.auth };
    const cases: [string, () => Promise<Answer>, number][] = [
      [
        'malformed JSON',
        () =>
          api()
            .post('/users')
            .set(auth)
            .set('Content-Type', 'application/json')
            .send('{"name": "Eve",'),
        400,
      ],
      [
        'JSON with a NUL byte',
        () =>
          api()
            .post('/users')
            .set(auth)
            .set('Content-Type', 'application/json')
            .send('{"name":"a\u0000"}'),
        400,
      ],
      [
        'unsupported charset',
        () =>
          api()
            .post('/users')
            .set(auth)
            .set('Content-Type', 'application/json; charset=iso-8859-1')
            .send('{}'),
        415,
      ],
      ['unknown route', () => api().get('/admin').set(auth), 404],
      ['unknown method', () => api().put('/users').set(auth), 404],
      [
        'id not a UUID',
        () =>
          api()
            .delete(`/users/${encodeURIComponent("1' OR '1'='1")}`)
            .set(auth),
        400,
      ],
      ['id badly percent-encoded', () => api().delete('/users/%zz').set(auth), 400],
      [
        'unknown user',
        () => api().delete('/users/00000000-0000-4000-8000-00000000beef').set(auth),
        404,
      ],
      [
        'unknown user, rotate',
        () => api().post('/users/00000000-0000-4000-8000-00000000beef/sip-password').set(auth),
        404,
      ],
      ['bad list limit', () => api().get('/users?limit=-1').set(auth), 400],
      ['bad dryRun', () => api().post('/apply?dryRun=maybe').set(auth), 400],
      ['bad logs limit', () => api().get('/apply/logs?limit=501').set(auth), 400],
      [
        'SQL in a name',
        () =>
          api()
            .post('/users')
            .set(auth)
            .send({ name: 'x\'); DROP TABLE "user"; --', email: 'sql@example.com' }),
        400,
      ],
      [
        'unknown field',
        () =>
          api()
            .post('/users')
            .set(auth)
            .send({ name: 'Ok', email: 'ok@example.com', tenantId: 'x' }),
        400,
      ],
    ];
    await api()
      .post('/users')
      .set(auth)
      .send({ name: 'Dup', email: 'dup@example.com' })
      .expect(201);
    cases.push([
      'duplicate email',
      () => api().post('/users').set(auth).send({ name: 'Dup Two', email: 'DUP@example.com' }),
      409,
    ]);
    for (const [label, send, status] of cases) {
      const res = collect(label, await send());
      expect({ label, status: res.status }).toEqual({ label, status });
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect({ label, body }).toEqual({
        label,
        body: expect.objectContaining({
          statusCode: status,
          error: expect.any(String),
          message: expect.any(String),
        }),
      });
    }
  });

  it('errors raised before routing (body parsing, path decoding) carry a request id too, as the README promises', async () => {
    // BUG: these errors are raised before the request-id middleware (pino-http, a Nest
    // middleware on '*') runs: body-parser is mounted ahead of it, and Express fails to
    // decode '%zz' while matching that middleware's own wildcard path. So the answers have
    // no X-Request-Id header and no requestId, and the requests are never logged.
    const answers: [string, Answer][] = [
      [
        '413',
        await api()
          .post('/users')
          .set('Authorization', t.auth)
          .send({ name: 'x', email: 'x@example.com', pad: 'x'.repeat(BODY_LIMIT) }),
      ],
      [
        'malformed JSON',
        await api()
          .post('/users')
          .set('Authorization', t.auth)
          .set('Content-Type', 'application/json')
          .send('{'),
      ],
      ['bad percent-encoding', await api().delete('/users/%zz').set('Authorization', t.auth)],
    ];
    const missing = answers
      .filter(
        ([, res]) =>
          !res.headers['x-request-id'] ||
          !(JSON.parse(res.text) as { requestId?: string }).requestId,
      )
      .map(([label, res]) => `${label}: ${res.status} ${res.text}`);
    expect(missing).toEqual([]);
  });
});

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
    await api().get('/users').set('Authorization', t.auth).expect(200);
    await terminate();
    for (let i = 0; i < 3; i++) {
      const res = collect(
        'after pg_terminate_backend',
        await api().get('/users').set('Authorization', t.auth),
      );
      expect([200, 503]).toContain(res.status);
    }
    await api().get('/users').set('Authorization', t.auth).expect(200);
  });

  it('a database refusing connections: clean 5xx bodies, /health 503, no row, recovery afterwards', async () => {
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
        collect('database refusing connections', res);
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
  });

  it('a database refusing connections is answered 503 DATABASE_UNAVAILABLE, as the README documents', async () => {
    // BUG: PostgreSQL's "database is not currently accepting connections" (SQLSTATE 55000) is
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
      const res = collect('bad key', await from(guess, '127.0.0.3'));
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
    const fifth = collect('5th bad key', await from(`Bearer scp_${'B'.repeat(43)}`, '127.0.0.3'));
    expect(fifth.status).toBe(429);
    expect(Number(fifth.headers['retry-after'])).toBe(60);
    expect((await from(live.auth, '127.0.0.3')).status).toBe(429);
    // Another address is not blocked, and the live key works there.
    expect((await from(live.auth, '127.0.0.4')).status).toBe(200);
  });

  it('a 403 for a missing scope is not a failed authentication: it never leads to 429', async () => {
    const reader = await createKey(t, ['users:read']);
    for (let i = 0; i < 10; i++) {
      const res = collect('missing scope', await from(reader.auth, '127.0.0.5', '/apply/logs'));
      expect({ i, status: res.status }).toEqual({ i, status: 403 });
    }
    expect((await from(reader.auth, '127.0.0.5')).status).toBe(200);
  });

  it('hostile input to /api-keys and /audit gets clean 4xx bodies and writes nothing', async () => {
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
      const res = collect('hostile key body', await post(body));
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
      const res = collect(
        'hostile audit query',
        await request(baseUrl).get(`/audit${query}`).set('Authorization', t.auth),
      );
      expect({ query, status: res.status }).toEqual({
        query,
        status: query.startsWith('?actor') ? 200 : 400,
      });
    }
    expect(await count()).toEqual(before);
  });

  it('with the database down a key is answered 503, not 401, and it is not counted as a failure', async () => {
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
        const res = collect('key, database down', await from(k.auth, '127.0.0.6'));
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
  });
});

describe('error bodies', () => {
  it('none of the error answers above shows a stack trace, a source path or SQL', () => {
    const statuses = new Set(errorBodies.map((e) => e.status));
    // The collection must cover each kind of error the portal gives.
    for (const s of [400, 401, 404, 409, 413, 415, 429]) expect([...statuses]).toContain(s);
    expect(errorBodies.some((e) => e.status >= 500)).toBe(true);
    expect(errorBodies.length).toBeGreaterThan(30);
    const leaking = errorBodies.filter((e) => INTERNALS.test(e.text));
    expect(leaking).toEqual([]);
  });
});
