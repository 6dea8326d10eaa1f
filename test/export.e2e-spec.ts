import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';

const COLUMNS = ['name', 'email', 'extension', 'sipUsername', 'createdAt'];
const NAMES = [
  'Smith, Alice',
  "Zoë O'Brien (Sales)",
  'Ольга Петрова',
  '王小明',
  'محمد علي',
  '-Dash & Co.',
];

describe('GET /users/export (real PostgreSQL)', () => {
  let t: TestApp;
  const http = (app: TestApp = t) => request(app.app.getHttpServer());
  const exportAs = (accept?: string, app: TestApp = t) => {
    const req = http(app).get('/users/export').set('Authorization', app.auth);
    return accept === undefined ? req : req.set('Accept', accept);
  };
  const importInto = (app: TestApp, type: string, body: string) =>
    http(app)
      .post('/users/import')
      .set('Authorization', app.auth)
      .set('Content-Type', type)
      .send(body);
  const table = async (app: TestApp) =>
    (
      await app.pg.query<{ name: string; email: string; extension: number }>(
        `SELECT u.name, u.email, e.number AS extension
         FROM "user" u JOIN extension e ON e.user_id = u.id ORDER BY e.number`,
      )
    ).rows;

  beforeAll(async () => {
    t = await bootApp({ EXTENSION_MIN: '1000', EXTENSION_MAX: '2999' });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await t.pg.query('DELETE FROM "user"');
  });

  it('GET /users/export is the export, not a user looked up by the id "export"', async () => {
    const res = await exportAs().expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.text).toBe(`${COLUMNS.join(',')}\n`);
    const asJson = await exportAs('application/json').expect(200);
    expect(asJson.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(asJson.text)).toEqual({ users: [] });
  });

  it('writes every user as CSV by default, escaped, in extension order, never a secret', async () => {
    const rows = NAMES.map((name, i) => ({
      name,
      email: `u${i}@example.com`,
      extension: 1100 - i,
      sipPassword: `brought-password-${i}`,
    }));
    const imported = await http()
      .post('/users/import')
      .set('Authorization', t.auth)
      .send({ users: rows })
      .expect(201);
    const res = await exportAs('text/csv').expect(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="users.csv"');
    expect(res.headers.vary).toMatch(/\bAccept\b/);
    const records = parse<Record<string, string>>(res.text, { columns: true });
    const created = new Map(
      (imported.body.users as { email: string; id: string }[]).map((u) => [u.email, u]),
    );
    expect(records).toEqual(
      [...rows].reverse().map((r) => ({
        name: r.name,
        email: r.email,
        extension: String(r.extension),
        sipUsername: String(r.extension),
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      })),
    );
    expect(res.text).toContain('"Smith, Alice",u0@example.com,1100,1100,');
    const { rows: digests } = await t.pg.query<{ md5_digest: string; sha256_digest: string }>(
      'SELECT md5_digest, sha256_digest FROM extension',
    );
    for (const text of [res.text, (await exportAs('application/json').expect(200)).text]) {
      for (const d of digests) {
        expect(text).not.toContain(d.md5_digest);
        expect(text).not.toContain(d.sha256_digest);
      }
      expect(text).not.toContain('brought-password');
      for (const u of created.values()) expect(text).not.toContain(u.id);
    }
  });

  it('answers JSON to Accept: application/json and 406 to an Accept it cannot serve', async () => {
    await importInto(t, 'text/csv', 'name,email\nAlice,alice@example.com\n').expect(201);
    const res = await exportAs('application/json').expect(200);
    expect(res.body).toEqual({
      users: [
        {
          name: 'Alice',
          email: 'alice@example.com',
          extension: 1000,
          sipUsername: '1000',
          createdAt: expect.any(String),
        },
      ],
    });
    const weighted = await exportAs('text/csv;q=0.5, application/json').expect(200);
    expect(weighted.headers['content-type']).toMatch(/^application\/json/);
    const refused = await exportAs('text/html').expect(406);
    expect(refused.body).toMatchObject({
      statusCode: 406,
      error: 'NOT_ACCEPTABLE',
      message: 'The export is text/csv or application/json',
    });
    const query = await exportAs().query({ format: 'json' }).expect(400);
    expect(query.body.message).toBe('property format should not exist');
  });

  it('streams a table larger than one page, whole and in order', async () => {
    const rows = Array.from({ length: 1234 }, (_, i) => `User ${i},user${i}@example.com`);
    await importInto(t, 'text/csv', `name,email\n${rows.join('\n')}\n`).expect(201);
    const csv = await exportAs().expect(200);
    // Sent in chunks as the pages are read, not as one buffered body.
    expect(csv.headers['transfer-encoding']).toBe('chunked');
    expect(csv.headers['content-length']).toBeUndefined();
    const records = parse<Record<string, string>>(csv.text, { columns: true });
    expect(records.map((r) => [r.name, Number(r.extension)])).toEqual(
      rows.map((_, i) => [`User ${i}`, 1000 + i]),
    );
    const json = await exportAs('application/json').expect(200);
    expect(json.body.users.map((u: { extension: number }) => u.extension)).toEqual(
      rows.map((_, i) => 1000 + i),
    );
  });

  it('round trip: an export imported as it is into an empty portal gives the same names, emails and extensions', async () => {
    const rows = NAMES.map((name, i) => ({
      name,
      email: `Mixed${i}@Example.com`,
      extension: 2000 + i * 7,
    }));
    await http()
      .post('/users/import')
      .set('Authorization', t.auth)
      .send({ users: rows })
      .expect(201);
    await importInto(t, 'text/csv', 'name,email\nNo Number,nonumber@example.com\n').expect(201);
    const source = await table(t);
    expect(source).toHaveLength(NAMES.length + 1);
    const csv = (await exportAs().expect(200)).text;
    const json = (await exportAs('application/json').expect(200)).text;

    for (const [type, body] of [
      ['text/csv', csv],
      ['application/json', json],
    ]) {
      const empty = await bootApp({ EXTENSION_MIN: '1000', EXTENSION_MAX: '2999' });
      try {
        const res = await importInto(empty, type, body);
        expect({ type, status: res.status }).toEqual({ type, status: 201 });
        expect(await table(empty)).toEqual(source);
        // And out again: the same file, but for the times of the new rows.
        const again = (await exportAs(type, empty).expect(200)).text;
        const withoutTimes = (s: string) => s.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T');
        expect(withoutTimes(again)).toBe(withoutTimes(body));
      } finally {
        await empty.close();
      }
    }
  });
});
