import { Client } from 'pg';
import { serverUrl } from './test-database';

/** Drops the template and any database a crashed suite left behind from this run. */
export default async function globalTeardown(): Promise<void> {
  const template = process.env.PORTAL_TEST_TEMPLATE_DB;
  if (!template) return;
  const client = new Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template}\\_%`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
