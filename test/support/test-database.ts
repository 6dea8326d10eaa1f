import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server the suite uses; each suite gets its own database on it. */
export function serverUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** One statement on `server`'s maintenance database (CREATE/DROP DATABASE). */
export async function adminQuery(sql: string, server = serverUrl()): Promise<void> {
  const client = new Client({ connectionString: server, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Name of the migrated template that global setup prepares for this run. */
export function templateName(): string {
  const name = process.env.PORTAL_TEST_TEMPLATE_DB;
  if (!name)
    throw new Error('PORTAL_TEST_TEMPLATE_DB is unset: run tests through jest (globalSetup)');
  return name;
}

/** A fresh, already migrated database cloned from the template; returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${templateName()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${templateName()}"`);
  return {
    url: withDatabase(serverUrl(), name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
