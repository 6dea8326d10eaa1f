import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { createTestDatabase } from './support/test-database';

interface Listed {
  items: { number: number; userId: string | null }[];
  total: number;
}

describe('GET /extensions (real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  const api = (app = t) => request(app.app.getHttpServer());
  const list = async (query = '', app = t): Promise<Listed> =>
    (await api(app).get(`/extensions${query}`).set('Authorization', app.auth).expect(200)).body;
  const create = async (name: string, email: string): Promise<{ id: string; extension: number }> =>
    (await api().post('/users').set('Authorization', t.auth).send({ name, email }).expect(201))
      .body;
  const range = (from: number, to: number): number[] =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await bootApp({}, { database: db });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    await t.pg.query('DELETE FROM "user"');
  });

  it('lists all 1,000 numbers of the range in order, every one free on an empty database', async () => {
    const all = await list();
    expect(all.total).toBe(1000);
    expect(all.items.map((e) => e.number)).toEqual(range(1000, 1999));
    expect(all.items.every((e) => e.userId === null)).toBe(true);
    expect(Object.keys(all.items[0]).sort()).toEqual(['number', 'userId']);
    expect(await list('?status=used')).toEqual({ items: [], total: 0 });
  });

  it('says whose each used number is, and filters on free and used', async () => {
    const a = await create('Ann', 'ann@example.com');
    const b = await create('Ben', 'ben@example.com');
    const c = await create('Cat', 'cat@example.com');
    await api().delete(`/users/${b.id}`).set('Authorization', t.auth).expect(204);

    expect(await list('?status=used')).toEqual({
      items: [
        { number: a.extension, userId: a.id },
        { number: c.extension, userId: c.id },
      ],
      total: 2,
    });
    const free = await list('?status=free');
    expect(free.total).toBe(998);
    expect(free.items.map((e) => e.number)).toEqual(
      range(1000, 1999).filter((n) => n !== a.extension && n !== c.extension),
    );
    const all = await list();
    expect(all.total).toBe(1000);
    expect(all.items.slice(0, 3)).toEqual([
      { number: 1000, userId: a.id },
      { number: 1001, userId: null },
      { number: 1002, userId: c.id },
    ]);
    // The database says the same.
    const { rows } = await t.pg.query('SELECT number, user_id FROM extension ORDER BY number');
    expect(rows.map((r) => ({ number: r.number, userId: r.user_id }))).toEqual(
      (await list('?status=used')).items,
    );
  });

  it('pages with limit and offset as GET /users does, total counted past the end too', async () => {
    await create('Dan', 'dan@example.com');
    await create('Eve', 'eve@example.com');
    expect(await list('?status=free&limit=2&offset=1')).toEqual({
      items: [
        { number: 1003, userId: null },
        { number: 1004, userId: null },
      ],
      total: 998,
    });
    expect(await list('?limit=1&offset=999')).toEqual({
      items: [{ number: 1999, userId: null }],
      total: 1000,
    });
    expect(await list('?offset=1000')).toEqual({ items: [], total: 1000 });
    expect(await list('?status=used&offset=5')).toEqual({ items: [], total: 2 });
    expect((await list('?status=used&limit=1')).items.map((e) => e.number)).toEqual([1000]);
  });

  it('lists a number taken outside the range (the range was narrowed since)', async () => {
    const first = await create('Fay', 'fay@example.com');
    await create('Gus', 'gus@example.com');
    const narrow = await bootApp(
      { EXTENSION_MIN: '1001', EXTENSION_MAX: '1004' },
      { database: db },
    );
    try {
      const all = await list('', narrow);
      expect(all.total).toBe(5);
      expect(all.items.map((e) => [e.number, e.userId !== null])).toEqual([
        [1000, true],
        [1001, true],
        [1002, false],
        [1003, false],
        [1004, false],
      ]);
      expect(all.items[0].userId).toBe(first.id);
      expect((await list('?status=free', narrow)).total).toBe(3);
    } finally {
      await narrow.close();
    }
  });

  it('refuses bad parameters with 400 and one message per problem', async () => {
    const limit = 'limit must be an integer from 1 to 1000';
    const offset = 'offset must be an integer from 0 to 1000000';
    const status = 'status must be free or used';
    const cases: [string, string][] = [
      ['status=busy', status],
      ['status=', status],
      ['status=FREE', status],
      ['status=free%00', status],
      ['status=free&status=used', 'status must be given once'],
      ['status[]=free', 'property status[] should not exist'],
      ['limit=0', limit],
      ['limit=1001', limit],
      ['limit=abc', limit],
      ['limit=1.5', limit],
      ['offset=-1', offset],
      ['offset=1e3', offset],
      ['limit=2&limit=3', 'limit must be given once'],
      ['number=1000', 'property number should not exist'],
      ['__proto__=1', 'property __proto__ should not exist'],
      ['status=x&limit=0', `${status}; ${limit}`],
    ];
    const answers = [];
    for (const [q] of cases) {
      const res = await api().get(`/extensions?${q}`).set('Authorization', t.auth);
      answers.push([q, res.status, res.body.message]);
    }
    expect(answers).toEqual(cases.map(([q, message]) => [q, 400, message]));
  });

  it('needs the token', async () => {
    const res = await api().get('/extensions');
    expect([res.status, res.body.message]).toEqual([
      401,
      'Missing Authorization header: send "Bearer <token>"',
    ]);
  });
});
