import { Client } from 'pg';
import request from 'supertest';
import { ExtensionAllocator } from '../src/extensions/extension-allocator';
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

  it('100 parallel creates through both get 100 distinct, contiguous extensions (more racers than candidates)', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request((i % 2 ? a : b).app.getHttpServer())
          .post('/users')
          .set('Authorization', a.auth)
          .send({ name: `Racer ${i}`, email: `racer${i}@example.com` }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(201));
    const numbers = results.map((r) => r.body.extension as number).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
  });
});

describe('when every candidate is taken while a create waits for the lock', () => {
  let t: TestApp;
  let pg: Client;
  beforeAll(async () => {
    t = await bootApp();
    pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
    await t.close();
  });

  it('falls back to holding the lock and still gets the lowest free number', async () => {
    // Another process holds the allocation lock and takes 1000-1019, uncommitted.
    await pg.query('BEGIN');
    await pg.query('SELECT pg_advisory_xact_lock(21337, 1)');
    for (let n = 1000; n < 1020; n++) {
      await pg.query(
        `WITH u AS (INSERT INTO "user" (tenant_id, name, email) VALUES ($1, 'Other', $2) RETURNING id)
         INSERT INTO extension (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
         SELECT $3::int, $1, u.id, $3::int::text, 'asterisk', $4, $5 FROM u`,
        [DEFAULT_TENANT_ID, `other${n}@example.com`, n, HEX32, HEX64],
      );
    }
    // This create reads 1000-1015 as free candidates, then waits on the lock.
    const pending = t.app.get(ExtensionAllocator).createUser({
      name: 'Late',
      email: 'late@example.com',
      realm: 'asterisk',
      password: 'x'.repeat(24),
    });
    await new Promise((r) => setTimeout(r, 300));
    await pg.query('COMMIT');
    const row = await pending;
    expect(row).toMatchObject({ extension: 1020, sip_username: '1020', email: 'late@example.com' });
  });
});
