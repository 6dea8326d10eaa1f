import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every process the bench starts, so each is killed however the bench ends. */
const running = new Set<ChildProcess>();

export interface Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** stdout and stderr as they arrived, for error messages. */
  output(): string;
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  stop(timeoutMs?: number): Promise<void>;
}

export function startChild(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions,
): Child {
  const proc = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  const keep = (chunk: string): void => {
    // Bounded: a chatty child must not grow the bench's memory during a load phase.
    out = (out + chunk).slice(-64 * 1024);
  };
  proc.stdout?.setEncoding('utf8').on('data', keep);
  proc.stderr?.setEncoding('utf8').on('data', keep);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('close', (code) => {
      done = true;
      running.delete(proc);
      resolve(code);
    });
    proc.once('error', (err) => {
      keep(`spawn error: ${err.message}\n`);
      done = true;
      running.delete(proc);
      resolve(null);
    });
  });
  return {
    proc,
    name,
    output: () => out,
    exited,
    isRunning: () => !done,
    async stop(timeoutMs = 5_000) {
      if (done) return;
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const result = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (result === 'late') {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Synchronous, so it also works from an 'exit' handler or a signal. */
export function killAllChildren(): void {
  for (const proc of running) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  running.clear();
}

/** Polls `url` until it answers 200; fails early if the child exits. */
export async function waitForHttp(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      throw new Error(`${child.name} exited before it answered ${url}:\n${child.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.output()}`);
}
