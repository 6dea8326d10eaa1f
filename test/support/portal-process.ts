import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** The repository root: main.ts is run from here so ts-node finds tsconfig.json. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Every variable the portal reads; the child gets none of them unless a test sets it. */
const PORTAL_VARIABLES =
  /^(PORT|HOST|DATABASE_URL|LOG_LEVEL|PORTAL_.*|EXTENSION_.*|SIP_.*|ASTERISK_.*|FAKE_ASTERISK_.*|EMBEDDED_DB_.*|AUTH_FAILURE_.*)$/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PortalProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they arrived. */
  output(): string;
  isRunning(): boolean;
  /** Resolves once GET /health answers 200 with the database up; rejects if the process exits. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Resolves with the first stdout line (parsed JSON) that matches; rejects on timeout. */
  waitForLogLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Waits for the process to exit on its own; SIGKILLs it and rejects after timeoutMs. */
  waitForExit(timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** Sends the signal and waits for the exit; SIGKILLs it and rejects after timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit & { ms: number }>;
}

const started = new Set<PortalProcess>();

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

/**
 * Runs the real entry point (src/main.ts through ts-node) on 127.0.0.1 with the given variables
 * on top of a clean environment. PORT defaults to a free port, LOG_LEVEL to info.
 */
export async function startPortal(vars: Record<string, string> = {}): Promise<PortalProcess> {
  const port = vars.PORT && /^\d+$/.test(vars.PORT) ? Number(vars.PORT) : await freePort();
  const env = portalEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...vars });
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join('src', 'main.ts')],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let all = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    all += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    all += chunk;
  });
  const exited = new Promise<Exit>((resolve) => {
    // 'close' rather than 'exit': all output has been read by then.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const describe = (): string => `portal on port ${port}; output so far:\n${all}`;

  const handle: PortalProcess = {
    child,
    port,
    baseUrl,
    exited,
    stdout: () => out,
    stderr: () => err,
    output: () => all,
    isRunning: () => !done,

    async waitUntilHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (done) throw new Error(`The portal exited before it was healthy (${describe()})`);
        let health: { status: number; body: string } | undefined;
        try {
          const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
          health = { status: res.status, body: await res.text() };
        } catch {
          // Not listening yet.
        }
        if (health?.status === 200) {
          const body = parseJson(health.body);
          if (body?.status === 'ok' && body.database === 'up') return;
          throw new Error(`GET /health answered 200 with ${health.body}`);
        }
        await sleep(100);
      }
      throw new Error(`The portal was not healthy after ${timeoutMs} ms (${describe()})`);
    },

    async waitForLogLine(match, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of out.split('\n')) {
          const parsed = parseJson(line);
          if (parsed && match(parsed)) return parsed;
        }
        if (Date.now() >= deadline || done) {
          throw new Error(`No matching log line within ${timeoutMs} ms (${describe()})`);
        }
        await sleep(50);
      }
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
        child.kill('SIGKILL');
        throw new Error(`The portal did not exit within ${timeoutMs} ms (${describe()})`);
      }
      started.delete(handle);
      return { ...result, ms: Date.now() - t0 };
    },

    stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (!done) child.kill(signal);
      return handle.waitForExit(timeoutMs);
    },
  };
  started.add(handle);
  return handle;
}

/** SIGKILLs every portal started here that is still running; for afterEach/afterAll. */
export async function killAllPortals(): Promise<void> {
  const running = [...started];
  started.clear();
  for (const p of running) if (p.isRunning()) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Pids of live processes whose command line mentions `text` (e.g. a data directory). */
export function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.split('\0').some((arg) => arg.includes(text))) pids.push(Number(entry));
  }
  return pids.filter((pid) => pid !== process.pid);
}

/** Running, as opposed to gone or a zombie nobody reaps. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
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
