import { Client } from 'pg';
import request from 'supertest';
import { ExtensionAllocator } from '../src/extensions/extension-allocator';
import { sipDigests } from '../src/extensions/sip-credentials';
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

  it('claim_free_extension() locks only the number it returns, skipping held and taken ones', async () => {
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(21338, 1001)'); // a racing create
      await pg.query('BEGIN');
      const { rows } = await pg.query('SELECT claim_free_extension(1000, 1010) AS n');
      expect(rows[0].n).toBe(1002); // 1000 is taken, 1001 held
      const locks = await pg.query(
        `SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = 21338
           AND pid = pg_backend_pid()`,
      );
      expect(locks.rows.map((r: { objid: number }) => Number(r.objid))).toEqual([1002]);
      await pg.query('COMMIT');
    } finally {
      await other.end();
    }
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

describe('while another transaction is inserting numbers', () => {
  let t: TestApp;
  let pg: Client;
  const allocator = () => t.app.get(ExtensionAllocator);
  const newUser = (email: string) => ({
    name: 'Late',
    email,
    realm: 'asterisk',
    password: 'x'.repeat(24),
  });
  /** What a create in another process does: lock the number, insert it, not yet committed. */
  const insertLocked = async (n: number) => {
    await pg.query('SELECT pg_advisory_xact_lock(21338, $1)', [n]);
    await pg.query(
      `WITH u AS (INSERT INTO "user" (tenant_id, name, email) VALUES ($1, 'Other', $2) RETURNING id)
       INSERT INTO extension (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
       SELECT $3::int, $1, u.id, $3::int::text, 'asterisk', $4, $5 FROM u`,
      [DEFAULT_TENANT_ID, `other${n}@example.com`, n, HEX32, HEX64],
    );
  };
  const numbers = async () =>
    (await pg.query('SELECT number FROM extension ORDER BY number')).rows.map(
      (r: { number: number }) => r.number,
    );

  beforeAll(async () => {
    t = await bootApp();
    pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
    await t.close();
  });

  it('skips the numbers it holds without waiting, past every candidate, and commits first', async () => {
    // 1000-1019 are being inserted, uncommitted: more than the 16 candidates the create
    // guesses from the committed rows (1000-1015).
    await pg.query('BEGIN');
    for (let n = 1000; n < 1020; n++) await insertLocked(n);
    const row = await allocator().createUser(newUser('late@example.com'));
    expect(row).toMatchObject({ extension: 1020, sipUsername: '1020', email: 'late@example.com' });
    await pg.query('COMMIT');
    expect(await numbers()).toEqual(Array.from({ length: 21 }, (_, i) => 1000 + i));
  });

  it('claims past the held numbers in its own transaction when the guesses miss', async () => {
    await pg.query('BEGIN');
    await insertLocked(1021);
    await insertLocked(1022);
    const row = await allocator().createByClaim(newUser('claim@example.com'));
    expect(row).toMatchObject({
      extension: 1023,
      sipUsername: '1023',
      email: 'claim@example.com',
    });
    await pg.query('ROLLBACK');
    expect(await numbers()).toEqual(Array.from({ length: 21 }, (_, i) => 1000 + i).concat(1023));
    const digest = await pg.query('SELECT md5_digest FROM extension WHERE number = 1023');
    expect(digest.rows[0].md5_digest).toBe(
      sipDigests('1023', 'asterisk', 'x'.repeat(24)).md5Digest,
    );
    await pg.query(`DELETE FROM "user" WHERE email = 'claim@example.com'`);
  });

  it('gives a number back when the create holding it fails', async () => {
    await pg.query('BEGIN');
    await insertLocked(1021);
    const row = await allocator().createUser(newUser('next@example.com'));
    expect(row.extension).toBe(1022);
    await pg.query('ROLLBACK');
    const again = await allocator().createUser(newUser('again@example.com'));
    expect(again.extension).toBe(1021);
  });
});
