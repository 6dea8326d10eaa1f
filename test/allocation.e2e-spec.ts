import { Client } from 'pg';
import request from 'supertest';
import { DEFAULT_TENANT_ID } from '../src/tenants/tenant.entity';
import { bootApp, TestApp } from './support/app';
import { createTestDatabase } from './support/test-database';

const HEX32 = 'a'.repeat(32);
const HEX64 = 'b'.repeat(64);

describe('allocate_user() in PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let pg: Client;
  const call = (candidates: number[], email: string, min = 1000, max = 1002) =>
    pg.query(`SELECT * FROM allocate_user($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      DEFAULT_TENANT_ID,
      'Name',
      email,
      min,
      max,
      'asterisk',
      candidates,
      candidates.map(() => HEX32),
      candidates.map(() => HEX64),
    ]);
  const count = async () =>
    Number((await pg.query('SELECT count(*) AS n FROM extension')).rows[0].n as string);

  beforeAll(async () => {
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
    await db.drop();
  });

  it('inserts the lowest free number when it is a candidate', async () => {
    const { rows } = await call([1000, 1001], 'a@example.com');
    expect(rows).toEqual([
      expect.objectContaining({ extension: 1000, sip_username: '1000', email: 'a@example.com' }),
    ]);
    expect(rows[0].id).toEqual(expect.any(String));
  });

  it('returns the free number alone, inserting nothing, when it is not a candidate', async () => {
    const { rows } = await call([1002], 'b@example.com');
    expect(rows).toEqual([expect.objectContaining({ id: null, extension: 1001 })]);
    expect(await count()).toBe(1);
  });

  it('raises SC001 when the range is full', async () => {
    await call([1001], 'c@example.com');
    await call([1002], 'd@example.com');
    await expect(call([1003], 'e@example.com')).rejects.toMatchObject({ code: 'SC001' });
    expect(await count()).toBe(3);
  });
});

describe('allocation across two portal instances on one database', () => {
  let a: TestApp;
  let b: TestApp;
  let db: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await bootApp({}, { database: db });
    b = await bootApp({}, { database: db });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('60 parallel creates through both get 60 distinct, contiguous extensions', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request((i % 2 ? a : b).app.getHttpServer())
          .post('/users')
          .set('Authorization', a.auth)
          .send({ name: `Racer ${i}`, email: `racer${i}@example.com` }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    const numbers = results.map((r) => r.body.extension as number).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 60 }, (_, i) => 1000 + i));
  });
});
