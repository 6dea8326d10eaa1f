import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { type Child, freePort, REPO_ROOT, startChild } from '../test/support/portal-process';
import { load } from './load';
import { collectGarbage, type Summary, summarize, timeConcurrent, timeSequential } from './stats';

const TENANT = '00000000-0000-4000-8000-000000000001';
// Not the portal's allocation key, so a floor can never contend with a portal request.
const FLOOR_LOCK: [number, number] = [0x5359, 0xf100];

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

/**
 * The least a create can cost in PostgreSQL: one transaction with the allocation lock and
 * both inserts, into copies of the real tables (same indexes, checks and foreign keys), as
 * five round trips like the portal's. Used like the portal phases: 1,000 one after another,
 * 1,000 more from 16 clients, then the first 1,000 deleted from 16 clients. `close` drops
 * the copies.
 */
export class PgWriteFloor {
  private number = 1000;
  private readonly created: string[] = [];

  private constructor(
    private readonly admin: Client,
    private readonly clients: Client[],
  ) {}

  static async open(url: string, concurrency: number): Promise<PgWriteFloor> {
    const admin = await connect(url);
    const clients: Client[] = [];
    try {
      await admin.query(`
        CREATE TABLE bench_floor_user (LIKE "user" INCLUDING ALL);
        ALTER TABLE bench_floor_user ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id);
        CREATE TABLE bench_floor_extension (LIKE extension INCLUDING ALL);
        ALTER TABLE bench_floor_extension
          ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id),
          ADD FOREIGN KEY (user_id) REFERENCES bench_floor_user (id) ON DELETE CASCADE;`);
      for (let i = 0; i < concurrency; i++) clients.push(await connect(url));
      return new PgWriteFloor(admin, clients);
    } catch (err) {
      await Promise.all(clients.map((c) => c.end()));
      await admin.query('DROP TABLE IF EXISTS bench_floor_extension, bench_floor_user');
      await admin.end();
      throw err;
    }
  }

  private async insert(c: Client, tag: string): Promise<string> {
    const n = this.number++;
    const md5 = createHash('md5').update(`${n}:asterisk:${tag}`).digest('hex');
    const sha = createHash('sha256').update(`${n}:asterisk:${tag}`).digest('hex');
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', FLOOR_LOCK);
      const { rows } = await c.query<{ id: string }>(
        'INSERT INTO bench_floor_user (tenant_id, name, email) VALUES ($1, $2, $3) RETURNING id',
        [TENANT, `Floor User ${tag}`, `floor-${tag}@bench.example`],
      );
      await c.query(
        `INSERT INTO bench_floor_extension
           (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [n, TENANT, rows[0].id, String(n), 'asterisk', md5, sha],
      );
      await c.query('COMMIT');
      return rows[0].id;
    } catch (err) {
      await c.query('ROLLBACK');
      throw err;
    }
  }

  private async remove(c: Client, id: string): Promise<void> {
    const res = await c.query('DELETE FROM bench_floor_user WHERE id = $1', [id]);
    if (res.rowCount !== 1) throw new Error(`floor delete of ${id} removed nothing`);
  }

  /** Warm-up rows are deleted before timing, so the table starts empty like the portal's. */
  async createSequential(n: number): Promise<Summary> {
    const c = this.clients[0];
    for (let i = 0; i < 20; i++) await this.remove(c, await this.insert(c, `w${i}`));
    return timeSequential(
      n,
      async (i) => {
        this.created.push(await this.insert(c, `s${i}`));
      },
      0,
    );
  }

  async createConcurrent(n: number): Promise<Summary> {
    return timeConcurrent(n, this.clients.length, (i, w) => this.insert(this.clients[w], `c${i}`));
  }

  /** Deletes the rows createSequential made. */
  async deleteConcurrent(): Promise<Summary> {
    const ids = this.created.splice(0);
    return timeConcurrent(ids.length, this.clients.length, (i, w) =>
      this.remove(this.clients[w], ids[i]),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.end()));
    await this.admin.query('DROP TABLE IF EXISTS bench_floor_extension, bench_floor_user');
    await this.admin.end();
  }
}

/** The list query the portal runs, mapped to the same JSON, without HTTP or Nest. */
export async function pgListFloor(url: string, n: number): Promise<Summary> {
  const c = await connect(url);
  try {
    return await timeSequential(n, async () => {
      const { rows } = await c.query<{
        id: string;
        name: string;
        email: string;
        created_at: Date;
        extension: number;
        sip_username: string;
        total: string;
      }>(
        `SELECT u.id, u.name, u.email, u.created_at, e.number AS extension, e.sip_username,
                count(*) OVER () AS total
         FROM "user" u JOIN extension e ON e.user_id = u.id
         WHERE u.tenant_id = $1
         ORDER BY e.number
         LIMIT 1000 OFFSET 0`,
        [TENANT],
      );
      if (rows.length !== 1000) throw new Error(`list floor read ${rows.length} rows, not 1000`);
      return JSON.stringify({
        items: rows.map((r) => ({
          id: r.id,
          name: r.name,
          email: r.email,
          extension: r.extension,
          sipUsername: r.sip_username,
          createdAt: r.created_at.toISOString(),
        })),
        total: Number(rows[0].total),
      });
    });
  } finally {
    await c.end();
  }
}

/** A bare node:http server in its own process answering every request with `body`. */
export async function startHttpFloorServer(
  body: Buffer,
  dir: string,
): Promise<{ child: Child; port: number }> {
  const file = path.join(dir, 'list-body.json');
  await fs.writeFile(file, body);
  const port = await freePort();
  const child = startChild(
    'http floor server',
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'http-floor-server.ts')],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, FLOOR_BODY: file, FLOOR_PORT: String(port) },
      keepOutput: 64 * 1024,
    },
  );
  await child.waitForHttp(`http://127.0.0.1:${port}/`, 60_000);
  return { child, port };
}

export async function httpFloor(
  port: number,
  n: number,
  connections: number,
  title: string,
): Promise<Summary> {
  return load({
    title,
    url: `http://127.0.0.1:${port}`,
    path: '/users?limit=1000',
    connections,
    amount: n,
    expectStatus: 200,
  });
}

/**
 * Writing both generated files the way the portal must at least: temp file, write, fsync,
 * rename, fsync the directory. Same bytes, same filesystem as the portal's include dirs.
 */
export async function fileFloor(
  files: { dir: string; name: string; content: string }[],
  n: number,
): Promise<Summary> {
  let seq = 0;
  const write = async (dir: string, name: string, content: string): Promise<void> => {
    const tmp = path.join(dir, `.${name}.${seq++}.tmp`);
    const handle = await fs.open(tmp, 'wx', 0o640);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path.join(dir, name));
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  };
  return timeSequential(n, async () => {
    for (const f of files) await write(f.dir, f.name, f.content);
  });
}

/** The fake CLI as the bench runs it: its client, told its sandbox by the environment. */
export interface FakeCli {
  file: string;
  env: NodeJS.ProcessEnv;
}

function runCli(cli: FakeCli, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cli.file,
      ['-rx', command],
      { maxBuffer: 64 * 1024 * 1024, env: cli.env },
      (err, stdout) => (err ? reject(new Error(`${command}: ${err.message}`)) : resolve(stdout)),
    );
  });
}

/** One fake CLI invocation, started as the portal starts it (execFile, no shell). */
export async function cliSingle(cli: FakeCli, command: string, n: number): Promise<Summary> {
  return timeSequential(n, () => runCli(cli, command), 2);
}

/**
 * The CLI part of one apply, run as ApplyService runs it: the two reloads one after the
 * other, then the two read-backs in parallel. What is left of an apply is the portal's.
 */
export async function cliApplySequence(cli: FakeCli, context: string, n: number): Promise<Summary> {
  return timeSequential(
    n,
    async () => {
      const pjsip = await runCli(cli, 'module reload res_pjsip.so');
      if (!pjsip.includes('reloaded successfully')) throw new Error(`fake reload: ${pjsip}`);
      await runCli(cli, 'dialplan reload');
      await Promise.all(
        ['pjsip show endpoints', `dialplan show ${context}`].map((c) => runCli(cli, c)),
      );
    },
    1,
  );
}

/** In-process timing of a synchronous function, many iterations. */
export function timeSync(n: number, fn: () => unknown): Summary {
  for (let i = 0; i < Math.min(20, n); i++) fn();
  collectGarbage();
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    samples.push(performance.now() - s);
  }
  return summarize(samples, performance.now() - t0);
}
