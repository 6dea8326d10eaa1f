import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { createTestDatabase } from './support/test-database';

/**
 * The entities describe the schema the migrations build: TypeORM's schema builder, which
 * compares the entity metadata with the live database, has nothing to change. It compares
 * checks by name only and skips `synchronize: false` indexes and tables without an entity,
 * so those are compared here.
 */
describe('entities match the migrated schema', () => {
  let db: { url: string; drop: () => Promise<void> };
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = new DataSource(dataSourceOptions(db.url));
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('has no migration pending on the template', async () => {
    expect(await ds.showMigrations()).toBe(false);
  });

  it('the schema builder reports no change', async () => {
    const { upQueries } = await ds.driver.createSchemaBuilder().log();
    expect(upQueries.map((q) => q.query)).toEqual([]);
  });

  it('every table but the migrations log has an entity', async () => {
    const rows: { table_name: string }[] = await ds.query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const tables = rows.map((r) => r.table_name).filter((t) => t !== 'migrations');
    expect(tables).toEqual(ds.entityMetadatas.map((m) => m.tableName).sort());
  });

  it('each index the migrations own exists under the name its entity gives', async () => {
    const owned = ds.entityMetadatas.flatMap((m) =>
      m.indices.filter((i) => !i.synchronize).map((i) => `${m.tableName}.${i.name}`),
    );
    expect(owned.length).toBeGreaterThan(0);
    const rows: { name: string }[] = await ds.query(
      `SELECT tablename || '.' || indexname AS name FROM pg_indexes WHERE schemaname = 'public'`,
    );
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(owned));
  });

  it("each check's expression is the migration's", async () => {
    // PostgreSQL normalizes both: the entity's expression is added to an empty copy of the
    // table, in a transaction that is rolled back.
    const checks = ds.entityMetadatas.flatMap((m) =>
      m.checks.map((c) => ({ table: m.tableName, name: c.name, expression: c.expression })),
    );
    expect(checks.length).toBeGreaterThan(0);
    const definition = `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
      WHERE c.conrelid = $1::regclass AND c.conname = $2`;
    const runner = ds.createQueryRunner();
    try {
      for (const check of checks) {
        const [live]: { def: string }[] = await runner.query(definition, [
          `"${check.table}"`,
          check.name,
        ]);
        await runner.startTransaction();
        try {
          await runner.query(`CREATE TEMP TABLE drift_probe (LIKE "${check.table}")`);
          await runner.query(
            `ALTER TABLE drift_probe ADD CONSTRAINT probe CHECK (${check.expression})`,
          );
          const [declared]: { def: string }[] = await runner.query(definition, [
            'drift_probe',
            'probe',
          ]);
          expect({ check: check.name, def: live?.def }).toEqual({
            check: check.name,
            def: declared.def,
          });
        } finally {
          await runner.rollbackTransaction();
        }
      }
    } finally {
      await runner.release();
    }
  });
});
