import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * The one launcher of the portal as a child process, for the process suite, the resilience
 * suites and the bench; plus the child-process and /proc helpers they share.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Every variable the portal reads; the child gets none of them unless a test sets it. */
const PORTAL_VARIABLES =
  /^(PORT|HOST|DATABASE_URL|LOG_LEVEL|PORTAL_.*|EXTENSION_.*|SIP_.*|ASTERISK_.*|FAKE_ASTERISK_.*|EMBEDDED_DB_.*|AUTH_FAILURE_.*|WEBHOOK_.*|PHONE_EVENTS_.*)$/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Compiled JavaScript of the portal: `entry` is its main.js, `dir` the process's cwd. */
export interface PortalBuild {
  readonly dir: string;
  readonly entry: string;
  remove(): void;
}

/**
 * Compiles the portal the way the production build does (`tsc` on tsconfig.build.json) into
 * a temp directory, without the type check (`--noCheck`, as ts-node's transpile-only: that is
 * `npm run typecheck`'s job). Once per suite, so a restart costs a plain `node main.js`.
 */
export async function buildPortal(): Promise<PortalBuild> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-build-'));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await promisify(execFile)(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        ...['-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', dir, '--noCheck'],
      ],
      { cwd: REPO_ROOT },
    );
  } catch (err) {
    remove();
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc could not build the portal:\n${stdout ?? ''}${stderr ?? ''}`, {
      cause: err,
    });
  }
  // Package imports resolve from the build directory upwards.
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { dir, entry: path.join(dir, 'src', 'main.js'), remove };
}

/** `dist/` as `nest build` leaves it: what is deployed, and what the bench measures. */
export function productionBuild(): PortalBuild {
  const dir = path.join(REPO_ROOT, 'dist');
  const entry = path.join(dir, 'src', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`nest build\` first`);
  return { dir, entry, remove: () => undefined };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** This process's environment without any portal setting, plus `vars`. */
export function portalEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!PORTAL_VARIABLES.test(key)) env[key] = value;
  }
  return { ...env, ...vars };
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves once the process is gone and all its output read ('close'), or failed to spawn. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they arrived. */
  output(): string;
  isRunning(): boolean;
  /** Polls `url` until it answers 200 (`check` may throw on that body); rejects if it exits. */
  waitForHttp(url: string, timeoutMs?: number, check?: (body: string) => void): Promise<void>;
  /** Waits for the process to exit on its own; SIGKILLs it and rejects after timeoutMs. */
  waitForExit(timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** Sends the signal and waits for the exit; SIGKILLs it and rejects after timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** SIGKILL now, no waiting. */
  kill(): void;
}

/** Every child started here that has not exited yet. */
const running = new Set<Child>();

/**
 * Spawns `command` with piped output. `keepOutput` bounds what is kept of each stream (the
 * last that many characters), for children that log under load; by default all is kept.
 */
export function startChild(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; keepOutput?: number },
): Child {
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const limit = options.keepOutput ?? Number.POSITIVE_INFINITY;
  const kept = { out: '', err: '', all: '' };
  const append = (stream: 'out' | 'err', chunk: string): void => {
    for (const key of [stream, 'all'] as const) {
      kept[key] += chunk;
      if (kept[key].length > 2 * limit) kept[key] = kept[key].slice(-limit);
    }
  };
  const tail = (text: string): string => (text.length > limit ? text.slice(-limit) : text);
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => append('out', chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => append('err', chunk));
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    // 'close' rather than 'exit': all output has been read by then.
    proc.once('close', (code, signal) => resolve({ code, signal }));
    proc.once('error', (err) => {
      append('err', `spawn error: ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  const describe = (): string => `${name}; output so far:\n${kept.all}`;

  const child: Child = {
    name,
    proc,
    pid: proc.pid ?? -1,
    exited,
    stdout: () => tail(kept.out),
    stderr: () => tail(kept.err),
    output: () => tail(kept.all),
    isRunning: () => !done,

    async waitForHttp(url, timeoutMs = 30_000, check) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (done) throw new Error(`${name} exited before ${url} answered 200 (${describe()})`);
        let answer: { status: number; body: string } | undefined;
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
          answer = { status: res.status, body: await res.text() };
        } catch {
          // Not listening yet.
        }
        if (answer?.status === 200) {
          check?.(answer.body);
          return;
        }
        await sleep(30);
      }
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${describe()})`);
    },

    async waitForExit(timeoutMs = 30_000) {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`${name} did not exit within ${timeoutMs} ms (${describe()})`);
      }
      return { ...result, ms: Date.now() - t0 };
    },

    stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (!done) proc.kill(signal);
      return child.waitForExit(timeoutMs);
    },

    kill() {
      if (!done) proc.kill('SIGKILL');
    },
  };
  running.add(child);
  void exited.then(() => {
    done = true;
    running.delete(child);
  });
  return child;
}

/**
 * SIGKILLs every child started here that still runs, at once (so it also serves an 'exit'
 * handler), then resolves when all are gone; for afterEach/afterAll.
 */
export async function killAllChildren(): Promise<void> {
  const all = [...running];
  for (const c of all) c.kill();
  await Promise.all(all.map((c) => c.exited));
}

export interface PortalProcess extends Child {
  readonly port: number;
  readonly baseUrl: string;
  /** Resolves once GET /health answers 200 with the database up; rejects if the process exits. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Resolves with the first stdout line (parsed JSON) that matches; rejects on timeout. */
  waitForLogLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/**
 * Runs the build's main.js on 127.0.0.1 with the given variables on top of a clean
 * environment. PORT defaults to a free port, LOG_LEVEL to info. The build directory is the
 * cwd: a developer's .env in the repository cannot leak in.
 */
export async function startPortal(
  build: PortalBuild,
  vars: Record<string, string> = {},
  options: { nodeArgs?: string[]; keepOutput?: number } = {},
): Promise<PortalProcess> {
  const port = vars.PORT && /^\d+$/.test(vars.PORT) ? Number(vars.PORT) : await freePort();
  const env = portalEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...vars });
  const child = startChild(
    `portal on port ${port}`,
    process.execPath,
    [...(options.nodeArgs ?? []), build.entry],
    { cwd: build.dir, env, keepOutput: options.keepOutput },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    ...child,
    port,
    baseUrl,
    waitUntilHealthy: (timeoutMs = 30_000) =>
      child.waitForHttp(`${baseUrl}/health`, timeoutMs, (text) => {
        const body = parseJson(text);
        if (body?.status !== 'ok' || body.database !== 'up') {
          throw new Error(`GET /health answered 200 with ${text}`);
        }
      }),
    async waitForLogLine(match, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of child.stdout().split('\n')) {
          const parsed = parseJson(line);
          if (parsed && match(parsed)) return parsed;
        }
        if (Date.now() >= deadline || !child.isRunning()) {
          throw new Error(`No matching log line within ${timeoutMs} ms (${child.output()})`);
        }
        await sleep(50);
      }
    },
  };
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A process's command line (arguments separated by NUL), or undefined once it is gone. */
export function readCmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat the suites and the bench use; times in clock ticks. */
export interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU time of reaped children. */
  cutime: number;
  cstime: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces and parentheses.
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
  };
}

/** Pids of all processes (this one included). */
export function listPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** Pids of other live processes whose command line mentions `text` (e.g. a data directory). */
export function pidsMentioning(text: string): number[] {
  return listPids().filter(
    (pid) =>
      pid !== process.pid && (readCmdline(pid) ?? '').split('\0').some((arg) => arg.includes(text)),
  );
}

/** Running, as opposed to gone or a zombie nobody reaps. */
export function isAlive(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Resident memory of a process in MB, or NaN when it cannot be read. */
export function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The postmaster pid recorded in a data directory, if any. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops any PostgreSQL still running on a directory under `root` (a test's temp dir). */
export async function stopPostgresUnder(root: string): Promise<void> {
  const pids = pidsMentioning(root).filter(isAlive);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // Already gone.
    }
  }
  for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(50);
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
