import { Client } from 'pg';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox } from './support/asterisk-sandbox';

/**
 * Each problem the fuzzing found, as one plain example, so a regression shows up with an
 * input a reader can follow; the comment on each names the cause it had.
 */
describe('fuzz findings, pinned', () => {
  let box: AsteriskSandbox;
  let t: TestApp;
  let pg: Client;
  const api = () => request(t.app.getHttpServer());
  const create = (body: unknown) =>
    api()
      .post('/users')
      .set('Authorization', t.auth)
      .send(body as object);
  const rawCreate = (bytes: Buffer | string, headers: Record<string, string> = {}) => {
    let req = api()
      .post('/users')
      .set('Authorization', t.auth)
      .set('Content-Type', 'application/json');
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return req.serialize((b: unknown) => b as string).send(bytes);
  };
  const rowCount = async () =>
    Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM "user"')).rows[0].n);

  beforeAll(async () => {
    // A sandbox, so an apply that runs by mistake never touches /etc/asterisk.
    box = new AsteriskSandbox();
    t = await bootApp(box.env());
    pg = t.pg;
  });
  afterAll(async () => {
    await t.close();
    box.remove();
  });

  it('a name of 100 letters plus U+FE0F (101 characters) is a 400, not a 500', async () => {
    // Regression guard: @Length (validator's isLength) does not count U+FE0E/U+FE0F, but the varchar(100)
    // column does: the insert fails with "value too long" (22001) and the answer is a 500.
    const statuses = [];
    for (const selector of ['\uFE0F', '\uFE0E']) {
      const res = await create({ name: `${'a'.repeat(100)}${selector}`, email: 'vs@example.com' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400]);
    expect(await rowCount()).toBe(0);
  });

  it('an email with a lone surrogate is a 400, not a 500', async () => {
    // Regression guard: @IsEmail (validator's isEmail -> isByteLength -> encodeURI) throws URIError on a
    // lone surrogate instead of returning false, so the ValidationPipe answers 500.
    const statuses = [];
    for (const email of ['a\uD800@example.org', 'a@\uDFFF.example.org', 'a=\uDFFF@example.com']) {
      statuses.push((await create({ name: 'Surrogate', email })).status);
    }
    expect(statuses).toEqual([400, 400, 400]);
  });

  it('deeply nested JSON within 16 KB is a 400, not a 500', async () => {
    // Regression guard: with transform: true the ValidationPipe's class-transformer recurses into every
    // value, unknown fields included, and overflows the stack ("Maximum call stack size
    // exceeded") from about 2,000 levels; the body limit allows about 8,000.
    const depth = 3000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const statuses = [
      (await rawCreate(`{"name":"Deep","email":"deep@example.com","x":${nested}}`)).status,
      (await rawCreate(nested)).status,
      (
        await rawCreate(
          `{"name":"Deep","email":"deep@example.com","x":${'{"a":'.repeat(2700)}1${'}'.repeat(2700)}}`,
        )
      ).status,
    ];
    expect(statuses).toEqual([400, 400, 400]);
  });

  it('a body that does not decompress as its Content-Encoding says is a 400, not a 500', async () => {
    // Regression guard: body-parser reports a decompression failure (zlib Z_DATA_ERROR etc.) as status 400
    // without a `type`; ApiExceptionFilter's bodyParserStatus requires `type`, so it becomes
    // a 500 "quote request id unknown".
    const statuses = [];
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await rawCreate(Buffer.from('{"name":"x"}'), { 'Content-Encoding': encoding });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400]);
  });

  it('GET /users?search= with a NUL character is not a 500', async () => {
    // Regression guard: search has no character check; PostgreSQL refuses the NUL in the parameter
    // ("invalid byte sequence for encoding UTF8: 0x00", 22021) and the answer is a 500.
    const res = await api().get('/users?search=a%00b').set('Authorization', t.auth);
    expect(res.status).toBeLessThan(500);
  });

  it('GET /users with an offset past PostgreSQL bigint is not a 500', async () => {
    // Regression guard: offset has @Min(0) but no @Max; 2^63 and up (or 1e21, sent as "1e+21") fail in
    // PostgreSQL ("out of range for type bigint", 22003) and the answer is a 500.
    const statuses = [];
    for (const offset of ['9223372036854775808', '99999999999999999999', '1e21']) {
      statuses.push(
        (await api().get(`/users?offset=${offset}`).set('Authorization', t.auth)).status,
      );
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it('unknown fields named like Object.prototype members are refused like any other', async () => {
    // Regression guard: the ValidationPipe (whitelist + forbidNonWhitelisted) lets these keys through,
    // in bodies and in query strings: the README says unknown fields are rejected by name.
    // On POST /apply it means "?__proto__=1" runs a real apply instead of a 400.
    const answers: [string, number][] = [];
    for (const key of ['constructor', '__proto__', 'toString', 'prototype']) {
      const res = await api()
        .post('/users')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(`{"name":"Proto","email":"${key.replace(/_/g, '')}@example.com","${key}":1}`);
      answers.push([`POST /users {${key}}`, res.status]);
    }
    for (const path of ['/users?toString=1', '/apply/logs?valueOf=1']) {
      answers.push([`GET ${path}`, (await api().get(path).set('Authorization', t.auth)).status]);
    }
    const dry = await api().post('/apply?__proto__=1&dryRun=true').set('Authorization', t.auth);
    answers.push(['POST /apply?__proto__=1&dryRun=true', dry.status]);
    expect(answers.filter(([, status]) => status !== 400)).toEqual([]);
  });
});
