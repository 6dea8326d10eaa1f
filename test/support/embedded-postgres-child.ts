/**
 * Starts the embedded PostgreSQL in its own Node process so a test can SIGKILL that process.
 * Usage: node -r ts-node/register/transpile-only embedded-postgres-child.ts <dataDir> <port>
 * Prints one JSON line once the server is up and a row is committed, then idles until killed.
 */
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

const WATCHED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];

function listenerCounts(): Record<string, number> {
  return Object.fromEntries(WATCHED.map((event) => [event, process.listenerCount(event)]));
}

async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  const before = listenerCounts();
  const handle = await startEmbeddedPostgres({ dataDir, port: Number(port) });
  const after = listenerCounts();

  const client = new Client({ connectionString: handle.url });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS survivor (id int PRIMARY KEY, note text)');
  await client.query(`INSERT INTO survivor VALUES (1, 'written before SIGKILL')`);
  await client.end();

  process.stdout.write(`${JSON.stringify({ url: handle.url, before, after })}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
