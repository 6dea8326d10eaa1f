/** What each portal figure is compared with: the same work without the portal, same run. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { DEFAULT_TENANT_ID } from '../src/tenants/tenant.entity';
import { toUserDto } from '../src/users/user.mapper';
import { UsersRepository } from '../src/users/users.repository';
import { type Child, freePort, REPO_ROOT, startChild } from '../test/support/portal-process';
import { type Summary, summarize, time } from './measure';
import { txHostOf } from './tx-host';

/**
 * The least a create and a delete cost in PostgreSQL. Raw SQL on copies of the real tables
 * (same indexes, checks and foreign keys), not the portal's allocate_user(): the floor must
 * leave the portal's tables alone, and a floor that ran the portal's own search for a free
 * number would measure the portal, not what any create has to pay. A create is one
 * statement inserting both rows (one round trip, one commit), as the portal's allocate_user()
 * is when its guess is right; a delete removes the user and cascades to its extension.
 */
export class PgWriteFloor {
  private number = 1000;
  private readonly created: string[] = [];

  private constructor(private readonly clients: Client[]) {}

  static async open(url: string, concurrency: number): Promise<PgWriteFloor> {
    const clients: Client[] = [];
    for (let i = 0; i < concurrency; i++) {
      clients.push(new Client({ connectionString: url }));
      await clients[i].connect();
    }
    await clients[0].query(`
      CREATE TABLE bench_floor_user (LIKE "user" INCLUDING ALL);
      ALTER TABLE bench_floor_user ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id);
      CREATE TABLE bench_floor_extension (LIKE extension INCLUDING ALL);
      ALTER TABLE bench_floor_extension
        ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id),
        ADD FOREIGN KEY (user_id) REFERENCES bench_floor_user (id) ON DELETE CASCADE;`);
    return new PgWriteFloor(clients);
  }

  private async insert(c: Client, tag: string): Promise<string> {
    const n = this.number++;
    const digest = (alg: string): string => createHash(alg).update(`${n}:${tag}`).digest('hex');
    const { rows } = await c.query<{ user_id: string }>(
      `WITH u AS (
         INSERT INTO bench_floor_user (tenant_id, name, email) VALUES ($1::uuid, $2, $3)
         RETURNING id)
       INSERT INTO bench_floor_extension
         (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
       SELECT $4::int, $1::uuid, u.id, $4::int::text, 'asterisk', $5, $6 FROM u
       RETURNING user_id`,
      [
        DEFAULT_TENANT_ID,
        `Floor ${tag}`,
        `floor-${tag}@bench.example`,
        n,
        digest('md5'),
        digest('sha256'),
      ],
    );
    return rows[0].user_id;
  }

  private async remove(c: Client, id: string): Promise<void> {
    const res = await c.query('DELETE FROM bench_floor_user WHERE id = $1', [id]);
    if (res.rowCount !== 1) throw new Error(`floor delete of ${id} removed nothing`);
  }

  /** Like the portal's create_seq: the warm-up rows are gone again before the timing. */
  async createSequential(n: number): Promise<Summary> {
    const c = this.clients[0];
    for (let i = 0; i < 20; i++) await this.remove(c, await this.insert(c, `w${i}`));
    return time(n, 1, async (i) => this.created.push(await this.insert(c, `s${i}`)));
  }

  createConcurrent(n: number): Promise<Summary> {
    return time(n, this.clients.length, (i, w) => this.insert(this.clients[w], `c${i}`));
  }

  /** Deletes what createSequential made, like the portal's delete_c16. */
  deleteConcurrent(): Promise<Summary> {
    const ids = this.created.splice(0);
    return time(ids.length, this.clients.length, (i, w) => this.remove(this.clients[w], ids[i]));
  }

  async close(): Promise<void> {
    await this.clients[0].query('DROP TABLE IF EXISTS bench_floor_extension, bench_floor_user');
    await Promise.all(this.clients.map((c) => c.end()));
  }
}

/**
 * The portal's own list query and mapping (UsersRepository.page, toUserDto) in this process:
 * the same SQL and JSON as GET /users, without HTTP, Nest or validation.
 */
export function listFloor(ds: DataSource, limit: number, n: number): Promise<Summary> {
  const users = new UsersRepository(txHostOf(ds));
  return time(
    n,
    1,
    async () => {
      const { rows, total } = await users.page(DEFAULT_TENANT_ID, null, limit, 0);
      if (rows.length !== limit) throw new Error(`list floor read ${rows.length} rows`);
      return JSON.stringify({ items: rows.map(toUserDto), total });
    },
    20,
  );
}

/** A bare node:http server, in its own process like the portal, answering with `body`. */
const HTTP_FLOOR_SERVER = `
  const body = require('node:fs').readFileSync(process.env.FLOOR_BODY);
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };
  require('node:http')
    .createServer((req, res) => { req.resume(); res.writeHead(200, headers); res.end(body); })
    .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));`;

export async function startHttpFloor(body: Buffer, dir: string): Promise<Child & { url: string }> {
  const file = path.join(dir, 'list-body.json');
  await fs.writeFile(file, body);
  const port = await freePort();
  const env = { ...process.env, FLOOR_BODY: file, FLOOR_PORT: String(port) };
  const child = startChild('http floor server', process.execPath, ['-e', HTTP_FLOOR_SERVER], {
    cwd: REPO_ROOT,
    env,
    keepOutput: 64 * 1024,
  });
  const url = `http://127.0.0.1:${port}`;
  await child.waitForHttp(`${url}/`, 30_000);
  return { ...child, url };
}

/**
 * Both generated files written the least way that is still atomic and durable: temp file,
 * write, fsync, rename, fsync the directory. Plain code rather than the portal's ConfigWriter,
 * so the write step is compared with what any such write costs on this filesystem.
 */
export function fileFloor(files: { dir: string; content: string }[], n: number): Promise<Summary> {
  const sync = async (file: string, flags: string, content?: string): Promise<void> => {
    const handle = await fs.open(file, flags, 0o640);
    try {
      if (content !== undefined) await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  return time(
    n,
    1,
    async (i) => {
      for (const f of files) {
        const tmp = path.join(f.dir, `.floor.${i}.tmp`);
        await sync(tmp, 'wx', f.content);
        await fs.rename(tmp, path.join(f.dir, 'floor.bench'));
        await sync(f.dir, 'r');
      }
    },
    5,
  );
}

/** One row of the import phase, as the CSV sends it and the floor inserts it. */
export interface ImportRow {
  name: string;
  email: string;
  extension: number;
  password: string;
}

/**
 * The least a 1,000-row import costs in PostgreSQL: one transaction, one statement inserting
 * every user and its extension (digests computed here), into copies of the real tables that
 * hold the same users as the portal's. Each run's rows are deleted again, untimed.
 */
export class PgImportFloor {
  private constructor(private readonly c: Client) {}

  static async open(url: string): Promise<PgImportFloor> {
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`
      CREATE TABLE bench_import_user (LIKE "user" INCLUDING ALL);
      ALTER TABLE bench_import_user ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id);
      CREATE TABLE bench_import_extension (LIKE extension INCLUDING ALL);
      ALTER TABLE bench_import_extension
        ADD FOREIGN KEY (tenant_id) REFERENCES tenant (id),
        ADD FOREIGN KEY (user_id) REFERENCES bench_import_user (id) ON DELETE CASCADE;
      INSERT INTO bench_import_user SELECT * FROM "user";
      INSERT INTO bench_import_extension SELECT * FROM extension;`);
    return new PgImportFloor(c);
  }

  /** `n` timed imports of `rows` after `warmUp` untimed ones. */
  async run(rows: ImportRow[], n: number, warmUp: number): Promise<Summary> {
    const samples: number[] = [];
    for (let i = 0; i < warmUp + n; i++) {
      const t0 = performance.now();
      await this.insert(rows);
      if (i >= warmUp) samples.push(performance.now() - t0);
      await this.c.query(`DELETE FROM bench_import_user WHERE email LIKE 'import-%'`);
    }
    return summarize(samples);
  }

  private async insert(rows: ImportRow[]): Promise<void> {
    const digest = (alg: string, r: ImportRow): string =>
      createHash(alg).update(`${r.extension}:asterisk:${r.password}`).digest('hex');
    await this.c.query('BEGIN');
    const res = await this.c.query(
      `WITH input AS (
         SELECT * FROM unnest($2::varchar[], $3::varchar[], $4::int[], $5::text[], $6::text[])
           AS t(name, email, number, md5, sha256)
       ), u AS (
         INSERT INTO bench_import_user (tenant_id, name, email)
         SELECT $1::uuid, name, email FROM input RETURNING id, email
       )
       INSERT INTO bench_import_extension
         (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
       SELECT i.number, $1::uuid, u.id, i.number::text, 'asterisk', i.md5, i.sha256
       FROM input i JOIN u ON u.email = i.email`,
      [
        DEFAULT_TENANT_ID,
        rows.map((r) => r.name),
        rows.map((r) => r.email),
        rows.map((r) => r.extension),
        rows.map((r) => digest('md5', r)),
        rows.map((r) => digest('sha256', r)),
      ],
    );
    await this.c.query('COMMIT');
    if (res.rowCount !== rows.length) throw new Error(`import floor inserted ${res.rowCount}`);
  }

  async close(): Promise<void> {
    await this.c.query('DROP TABLE IF EXISTS bench_import_extension, bench_import_user');
    await this.c.end();
  }
}
