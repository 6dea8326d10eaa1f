import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { Answer, ErrorBodies, expectSecurityHeaders, rawRequest } from './support/hostile-harness';

const BODY_LIMIT = 16 * 1024;

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
    const errors = new ErrorBodies();
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
      ['401', errors.collect('no token', await api().get('/users'))],
      [
        '404',
        errors.collect('unknown route', await api().get('/nope').set('Authorization', t.auth)),
      ],
      [
        '400',
        errors.collect(
          'hostile name',
          await api()
            .post('/users')
            .set('Authorization', t.auth)
            .send({ name: 'Eve\n[evil]', email: 'eve@example.com' }),
        ),
      ],
      [
        '413',
        errors.collect(
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
    errors.expectClean([400, 401, 404, 413]);
  });

  it('a body over 16 KB gets 413 with a JSON error body on every route, however it is sent, and nothing happens', async () => {
    const errors = new ErrorBodies();
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
    const atLimit = errors.collect('body at the limit', await post('/users', sized(BODY_LIMIT)));
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.message).toBe('property pad should not exist');

    const expect413 = (res: Answer & { body?: unknown }, where: string) => {
      errors.collect(`413 ${where}`, res);
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
    errors.expectClean([400, 413]);
  });

  it('malformed JSON, unknown routes, duplicates, bad ids and hostile input get clean 4xx bodies', async () => {
    const errors = new ErrorBodies();
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
      const res = errors.collect(label, await send());
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
    errors.expectClean([400, 404, 409, 415]);
  });

  it('errors raised before routing (body parsing, path decoding) carry a request id too, as the README promises', async () => {
    // Regression guard: these errors are raised before the request-id middleware (pino-http, a Nest
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
