import 'reflect-metadata';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { buildFakeAsterisk } from '../fake-asterisk/build';
import { adminQuery, serverUrl, withDatabase } from './test-database';

/**
 * Compiles the fake Asterisk CLI, so that no test's first call pays for it; checks the server
 * once, then migrates a template database every suite clones.
 */
export default async function globalSetup(): Promise<void> {
  buildFakeAsterisk();
  const url = serverUrl();
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `\nPostgreSQL is unreachable at ${url} (${reason}); start it or set TEST_DATABASE_URL=postgres://user@host:port/db\n`,
    );
    process.exit(1);
  }
  const template = `portal_test_${process.pid}_${Date.now().toString(36)}`;
  await adminQuery(`CREATE DATABASE "${template}"`);
  const ds = new DataSource(dataSourceOptions(withDatabase(url, template), () => undefined));
  await ds.initialize();
  await ds.runMigrations({ transaction: 'all' });
  await ds.destroy();
  process.env.PORTAL_TEST_TEMPLATE_DB = template;
}
