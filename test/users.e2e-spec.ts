import { createHash } from 'node:crypto';
import request from 'supertest';
import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';

const EXTENSION_ALLOCATED =
  'extension cannot be chosen: the portal allocates the lowest free number (POST /users/import takes users with their numbers)';
const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('Users API (real PostgreSQL)', () => {
  let t: TestApp;
  let pg: Client;
  const http = () => request(t.app.getHttpServer());

  const rowCount = async (): Promise<{ users: number; extensions: number }> => {
    const { rows } = await pg.query<{ users: string; extensions: string }>(
      `SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM extension) AS extensions`,
    );
    return { users: Number(rows[0].users), extensions: Number(rows[0].extensions) };
  };
  const create = (name: string, email: string) =>
    http().post('/users').set('Authorization', t.auth).send({ name, email });

  beforeAll(async () => {
    t = await bootApp();
    pg = t.pg;
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await pg.query('DELETE FROM "user"');
  });

  it('creates a user with the lowest free extension and a one-time SIP password', async () => {
    const res = await create('  Alice Smith ', 'alice@example.com').expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(uuidRe),
      name: 'Alice Smith',
      email: 'alice@example.com',
      extension: 1000,
      sipUsername: '1000',
      sipPassword: expect.stringMatching(/^[A-Za-z0-9]{24}$/),
      createdAt: expect.any(String),
    });
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    const { rows } = await pg.query('SELECT * FROM extension');
    expect(rows).toHaveLength(1);
    // Only digests are stored, and they are those of "1000:asterisk:<password>".
    const ha1 = `1000:asterisk:${res.body.sipPassword}`;
    expect(rows[0].md5_digest).toBe(createHash('md5').update(ha1).digest('hex'));
    expect(rows[0].sha256_digest).toBe(createHash('sha256').update(ha1).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(res.body.sipPassword);

    const second = await create('Bob', 'bob@example.com').expect(201);
    expect(second.body.extension).toBe(1001);
  });

  it('lists users ordered by extension, never with credentials, and searches', async () => {
    await create('Carol', 'carol@example.com').expect(201);
    await create('Dave', 'dave@corp.test').expect(201);
    await create('Erin Dave', 'erin@example.com').expect(201);

    const all = await http().get('/users').set('Authorization', t.auth).expect(200);
    expect(all.body.total).toBe(3);
    expect(all.body.items.map((u: { extension: number }) => u.extension)).toEqual([
      1000, 1001, 1002,
    ]);
    expect(Object.keys(all.body.items[0]).sort()).toEqual(
      ['createdAt', 'email', 'extension', 'id', 'name', 'sipUsername'].sort(),
    );
    expect(JSON.stringify(all.body)).not.toMatch(/password|digest/i);

    const byName = await http().get('/users?search=dave').set('Authorization', t.auth).expect(200);
    expect(byName.body.items.map((u: { name: string }) => u.name)).toEqual(['Dave', 'Erin Dave']);
    expect(byName.body.total).toBe(2);
    const byEmail = await http().get('/users?search=CORP.TEST').set('Authorization', t.auth);
    expect(byEmail.body.items.map((u: { name: string }) => u.name)).toEqual(['Dave']);
    const byExt = await http().get('/users?search=1002').set('Authorization', t.auth);
    expect(byExt.body.items.map((u: { name: string }) => u.name)).toEqual(['Erin Dave']);
    const wildcard = await http().get('/users?search=%25').set('Authorization', t.auth);
    expect(wildcard.body.total).toBe(0);

    const page = await http().get('/users?limit=1&offset=1').set('Authorization', t.auth);
    expect(page.body).toMatchObject({ total: 3, items: [{ extension: 1001 }] });
    const past = await http().get('/users?offset=10').set('Authorization', t.auth).expect(200);
    expect(past.body).toEqual({ items: [], total: 3 });
  });

  it('rejects bad list parameters with 400 and one message per problem', async () => {
    const limit = 'limit must be an integer from 1 to 1000';
    const offset = 'offset must be an integer from 0 to 1000000';
    const cases: [string, string][] = [
      ['limit=0', limit],
      ['limit=1001', limit],
      ['limit=abc', limit],
      ['limit=', limit],
      ['limit=1.5', limit],
      ['limit=1e3', limit],
      ['limit=0x10', limit],
      ['limit=%207', limit],
      ['offset=-1', offset],
      ['offset=99999999999999999999', offset],
      ['sort=name', 'property sort should not exist'],
      ['limit=2&limit=3', 'limit must be given once'],
      ['offset=1&offset=1', 'offset must be given once'],
      ['search=a&search=b', 'search must be given once'],
      ['limit=abc&offset=-1', `${limit}; ${offset}`],
    ];
    const answers = [];
    for (const [q] of cases) {
      const res = await http().get(`/users?${q}`).set('Authorization', t.auth);
      answers.push([q, res.status, res.body.message]);
    }
    expect(answers).toEqual(cases.map(([q, message]) => [q, 400, message]));
  });

  it('refuses body keys named after Object.prototype, at any depth, and creates nothing', async () => {
    for (const body of [
      '{"name":"Proto","email":"proto@example.com","__proto__":{"admin":true}}',
      '{"name":"Proto","email":"proto@example.com","constructor":1}',
      '{"name":"Proto","email":"proto@example.com","x":{"toString":1}}',
    ]) {
      const res = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(
        /^property (__proto__|constructor|toString) should not exist$/,
      );
    }
    const list = await http().get('/users').set('Authorization', t.auth).expect(200);
    expect(list.body.total).toBe(0);
  });

  it('deletes a user, frees the extension for the next create, 404s the second time', async () => {
    const a = await create('A', 'a@example.com').expect(201);
    await create('B', 'b@example.com').expect(201);
    await http().delete(`/users/${a.body.id}`).set('Authorization', t.auth).expect(204);
    expect(await rowCount()).toEqual({ users: 1, extensions: 1 });
    const c = await create('C', 'c@example.com').expect(201);
    expect(c.body.extension).toBe(1000);
    const again = await http().delete(`/users/${a.body.id}`).set('Authorization', t.auth);
    expect(again.status).toBe(404);
    expect(again.body.message).toContain(a.body.id);
  });

  it('rotates the SIP password: new digests, old password no longer matches', async () => {
    const u = await create('Rot', 'rot@example.com').expect(201);
    const before = await pg.query('SELECT md5_digest, sha256_digest FROM extension');
    const res = await http()
      .post(`/users/${u.body.id}/sip-password`)
      .set('Authorization', t.auth)
      .expect(200);
    expect(res.body).toEqual({ sipPassword: expect.stringMatching(/^[A-Za-z0-9]{24}$/) });
    expect(res.body.sipPassword).not.toBe(u.body.sipPassword);
    const after = await pg.query('SELECT md5_digest, sha256_digest FROM extension');
    expect(after.rows[0].md5_digest).not.toBe(before.rows[0].md5_digest);
    expect(after.rows[0].sha256_digest).not.toBe(before.rows[0].sha256_digest);
    expect(after.rows[0].md5_digest).toBe(
      createHash('md5').update(`1000:asterisk:${res.body.sipPassword}`).digest('hex'),
    );
    await http()
      .post('/users/00000000-0000-4000-8000-00000000ffff/sip-password')
      .set('Authorization', t.auth)
      .expect(404);
  });

  it('gives 409 on a duplicate email, case-insensitively, and writes nothing', async () => {
    await create('First', 'Dup@Example.com').expect(201);
    const res = await create('Second', 'dup@example.COM');
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/already exists/);
    expect(await rowCount()).toEqual({ users: 1, extensions: 1 });
  });

  it('gives 50 parallel creates 50 distinct extensions and no 5xx', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => create(`Parallel ${i}`, `p${i}@example.com`)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const numbers = results.map((r) => r.body.extension as number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
  });

  it('requires the bearer token everywhere but /health', async () => {
    await http().get('/users').expect(401);
    const wrong = await http().get('/users').set('Authorization', 'Bearer nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('Invalid API token');
    await http().post('/users').send({ name: 'X', email: 'x@example.com' }).expect(401);
    await http().get('/users').set('Authorization', 'Basic abc').expect(401);
    expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
    const health = await http().get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('says which part of the Authorization header is wrong', async () => {
    const token = t.auth.replace(/^Bearer /, '');
    const answers = [];
    for (const header of [
      undefined,
      token,
      'Basic abc',
      'Bearer',
      `Bearer ${token} x`,
      'Bearer nope',
    ]) {
      let req = http().get('/users');
      if (header !== undefined) req = req.set('Authorization', header);
      const res = await req;
      answers.push([header === token ? '<token>' : header, res.status, res.body.message]);
    }
    const form = 'Authorization header must be "Bearer <token>"';
    expect(answers).toEqual([
      [undefined, 401, 'Missing Authorization header: send "Bearer <token>"'],
      ['<token>', 401, form],
      ['Basic abc', 401, form],
      ['Bearer', 401, form],
      [`Bearer ${token} x`, 401, form],
      ['Bearer nope', 401, 'Invalid API token'],
    ]);
  });

  it('a create with problems gets one message for each, the one that matters', async () => {
    const cases: [unknown, string][] = [
      [{ email: 'x@example.com' }, 'name is required'],
      [{ name: 'Eve' }, 'email is required'],
      [{}, 'name is required; email is required'],
      [{ name: null, email: 'x@example.com' }, 'name is required'],
      [{ name: 42, email: 'x@example.com' }, 'name must be a string'],
      [{ name: ['Eve'], email: 'x@example.com' }, 'name must be a string'],
      [{ name: '   ', email: 'x@example.com' }, 'name must be 1 to 100 characters after trimming'],
      [
        { name: 'a'.repeat(101), email: 'x@example.com' },
        'name must be 1 to 100 characters after trimming',
      ],
      [
        { name: 'Eve; x', email: 'x@example.com' },
        'name may contain only letters, digits, spaces and . , \' - _ ( ) & (no control characters or ; " [ ] < > \\)',
      ],
      [{ name: 'Eve', email: 7 }, 'email must be a string'],
      [
        { name: 'Eve', email: 'nope' },
        'email must be a valid email address of at most 254 characters',
      ],
      [{ name: 'Eve', email: 'e@example.com', admin: true }, 'property admin should not exist'],
    ];
    const answers = [];
    for (const [body] of cases) {
      const res = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send(body as object);
      answers.push([body, res.status, res.body.message]);
    }
    expect(answers).toEqual(cases.map(([body, message]) => [body, 400, message]));
    expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
  });

  // POST /apply is checked the same way in apply-api.e2e-spec.ts, beside a sandbox.
  it('a body that is not JSON gets 415, and JSON that is not an object gets 400', async () => {
    const post = (path: string, type: string, data: string) =>
      http().post(path).set('Authorization', t.auth).set('Content-Type', type).send(data);
    const u = await create('Body', 'body@example.com').expect(201);
    const answers = [];
    for (const path of ['/users', `/users/${u.body.id}/sip-password`]) {
      for (const [type, data] of [
        ['application/x-www-form-urlencoded', 'name=Eve&email=eve%40example.com'],
        ['text/plain', '{"name":"Eve","email":"eve@example.com"}'],
        ['application/octet-stream', '{}'],
        ['application/json', 'null'],
        ['application/json', '"str"'],
        ['application/json', '[]'],
        ['application/json', '42'],
        ['application/json', 'true'],
      ]) {
        const res = await post(path, type, data);
        answers.push([path, type, data, res.status, res.body.message]);
      }
    }
    const notJson = 'Request body must be JSON (Content-Type: application/json)';
    const notObject = 'Request body must be a JSON object';
    expect(answers).toEqual(
      ['/users', `/users/${u.body.id}/sip-password`].flatMap((path) => [
        [path, 'application/x-www-form-urlencoded', expect.any(String), 415, notJson],
        [path, 'text/plain', expect.any(String), 415, notJson],
        [path, 'application/octet-stream', '{}', 415, notJson],
        [path, 'application/json', 'null', 400, notObject],
        [path, 'application/json', '"str"', 400, notObject],
        [path, 'application/json', '[]', 400, notObject],
        [path, 'application/json', '42', 400, notObject],
        [path, 'application/json', 'true', 400, notObject],
      ]),
    );
    expect(await rowCount()).toEqual({ users: 1, extensions: 1 });
  });

  it('a body that is not valid JSON is told so, and where, without the parser words', async () => {
    const post = (data: string) =>
      http()
        .post('/users')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(data);
    const answers = [];
    for (const data of [
      '{"name": "Eve", x}',
      '{"name": "Eve",\n "email" 2}',
      '{"name": "Eve",',
      '{',
    ]) {
      const res = await post(data);
      answers.push([data, res.status, res.body.error, res.body.message]);
    }
    expect(answers).toEqual([
      [
        '{"name": "Eve", x}',
        400,
        'BAD_REQUEST',
        'Request body is not valid JSON (line 1, column 17)',
      ],
      [
        '{"name": "Eve",\n "email" 2}',
        400,
        'BAD_REQUEST',
        'Request body is not valid JSON (line 2, column 10)',
      ],
      ['{"name": "Eve",', 400, 'BAD_REQUEST', 'Request body is not valid JSON (line 1, column 16)'],
      ['{', 400, 'BAD_REQUEST', 'Request body is not valid JSON (line 1, column 2)'],
    ]);
    expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
  });

  it('a create with an extension is told that the portal allocates numbers, and creates nothing', async () => {
    const res = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Chooser', email: 'chooser@example.com', extension: 1234 })
      .expect(400);
    expect(res.body).toMatchObject({
      error: 'BAD_REQUEST',
      message: EXTENSION_ALLOCATED,
    });
    // Told whatever the value, and alongside the other problems.
    const bad = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ email: 'chooser@example.com', extension: null })
      .expect(400);
    expect(bad.body.message).toBe(`${EXTENSION_ALLOCATED}; name is required`);
    expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
  });

  it('rotating refuses a body or query field by name, like every other route', async () => {
    const u = await create('Rotate Body', 'rb@example.com').expect(201);
    const digest = async () =>
      (await pg.query('SELECT md5_digest FROM extension')).rows[0].md5_digest as string;
    const before = await digest();
    const rotate = (query = '') =>
      http().post(`/users/${u.body.id}/sip-password${query}`).set('Authorization', t.auth);
    const withField = await rotate().send({ sipPassword: 'mine' });
    expect([withField.status, withField.body.message]).toEqual([
      400,
      'property sipPassword should not exist',
    ]);
    const withQuery = await rotate('?password=mine');
    expect([withQuery.status, withQuery.body.message]).toEqual([
      400,
      'property password should not exist',
    ]);
    expect(await digest()).toBe(before);
    await rotate().send({}).expect(200);
    await rotate().expect(200);
  });

  it('deleting refuses a query parameter by name', async () => {
    const u = await create('Delete Query', 'dq@example.com').expect(201);
    const res = await http().delete(`/users/${u.body.id}?force=1`).set('Authorization', t.auth);
    expect([res.status, res.body.message]).toEqual([400, 'property force should not exist']);
    expect(await rowCount()).toEqual({ users: 1, extensions: 1 });
  });

  describe('hostile input gets a 4xx and writes no row', () => {
    const hostileNames: [string, unknown][] = [
      ['newline', 'Eve\nEvil'],
      ['carriage return', 'Eve\rEvil'],
      ['semicolon', 'Eve; drop'],
      ['double quote', 'Eve "x"'],
      ['open bracket', 'Eve [x'],
      ['close bracket', 'Eve ]x'],
      ['less than', 'Eve <x'],
      ['greater than', 'Eve >x'],
      ['backslash', 'Eve \\ x'],
      ['NUL', 'Eve\u0000x'],
      ['U+2028', 'Eve\u2028x'],
      ['tab', 'Eve\tx'],
      ['10,000 characters', 'a'.repeat(10000)],
      ['101 characters', 'a'.repeat(101)],
      ['empty after trim', '   '],
      ['a number', 42],
      ['an array', ['Eve']],
      ['an object', { first: 'Eve' }],
      ['null', null],
    ];
    it.each(hostileNames)('name: %s', async (_label, name) => {
      const res = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name, email: 'eve@example.com' });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/name/);
      expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
    });

    // An extension gets its own message: see the create with an extension, above.
    it.each([
      ['tenantId', '00000000-0000-4000-8000-000000000001'],
      ['id', '00000000-0000-4000-8000-000000000002'],
      ['sipPassword', 'mine'],
    ])('unknown field %s is named in the 400', async (field, value) => {
      const res = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: 'Eve', email: 'eve@example.com', [field]: value });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(`property ${field} should not exist`);
      expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
    });

    it.each(['not-an-email', 'a@', '@b.com', `${'a'.repeat(250)}@example.com`, '', 7])(
      'email %p',
      async (email) => {
        const res = await http()
          .post('/users')
          .set('Authorization', t.auth)
          .send({ name: 'Eve', email });
        expect(res.status).toBe(400);
        expect(res.body.message).toMatch(/email/);
        expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
      },
    );

    it('accepts letters of any script and the allowed punctuation', async () => {
      const res = await create("Zoë Ünal-O'Brien (Sales) & Co. 李 1_2, Ж", 'zoe@example.com');
      expect(res.status).toBe(201);
    });

    it('malformed ids give 400 on delete and rotate', async () => {
      for (const id of ['123', 'not-a-uuid', "1' OR '1'='1"]) {
        const del = await http()
          .delete(`/users/${encodeURIComponent(id)}`)
          .set('Authorization', t.auth);
        expect(del.status).toBe(400);
        expect(del.body.message).toBe('id must be a UUID');
        const rot = await http()
          .post(`/users/${encodeURIComponent(id)}/sip-password`)
          .set('Authorization', t.auth);
        expect(rot.status).toBe(400);
      }
    });

    it('a body over 16 KB gets 413 and a body that is not JSON gets 400', async () => {
      const big = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ name: 'Eve', email: 'eve@example.com', pad: 'x'.repeat(17000) }));
      expect(big.status).toBe(413);
      expect(big.body.message).toMatch(/16 KB/);
      const bad = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .set('Content-Type', 'application/json')
        .send('{"name": "Eve",');
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.js|node_modules/);
      expect(await rowCount()).toEqual({ users: 0, extensions: 0 });
    });
  });
});

describe('Extension pool exhaustion', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp({ EXTENSION_MIN: '1000', EXTENSION_MAX: '1002' });
  });
  afterAll(() => t.close());

  it('gives 409 when the range is full, and reuses a freed number', async () => {
    const http = () => request(t.app.getHttpServer());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name: `U${i}`, email: `u${i}@example.com` })
        .expect(201);
      ids.push(r.body.id);
    }
    const full = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Late', email: 'late@example.com' });
    expect(full.status).toBe(409);
    expect(full.body.message).toMatch(/No free extension.*1000 to 1002/);
    const list = await http().get('/users').set('Authorization', t.auth);
    expect(list.body.total).toBe(3);

    await http().delete(`/users/${ids[1]}`).set('Authorization', t.auth).expect(204);
    const reuse = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Late', email: 'late@example.com' })
      .expect(201);
    expect(reuse.body.extension).toBe(1001);
  });
});
