import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

/** execFile's result as plain data; exactly one of exitCode and errno is set. */
export interface ProcessOutcome {
  stdout: string;
  stderr: string;
  /** The program's exit code, or null when it did not exit by itself (see killed, signal). */
  exitCode: number | null;
  /** Set when the program could not be run or its output overflowed: 'ENOENT', 'EACCES'... */
  errno: string | null;
  /** True when the timeout killed it. */
  killed: boolean;
  signal: string | null;
}

export interface RunOptions {
  timeoutMs: number;
  maxBuffer: number;
}

interface Pending {
  resolve: (outcome: ProcessOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  helper: ChildProcess;
}

/** The helper may be busy forking, but not this long past the program's own timeout. */
const HELPER_GRACE_MS = 5_000;
const HELPER_SCRIPT = path.join(__dirname, 'cli-spawn-helper.js');

/**
 * Runs a program (the Asterisk CLI) through a small long-lived helper process instead of
 * forking the portal. Forking the portal's 150-200 MB process took about 13 ms per call,
 * all of it blocking the event loop; the helper forks in a few ms and off the event loop.
 * The helper starts on first use, is replaced if it dies, and exits with the portal.
 */
@Injectable()
export class CliProcessRunner implements OnApplicationShutdown {
  private readonly logger = new Logger(CliProcessRunner.name);
  private helper: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Like execFile without a shell: the program's output, exit code or failure to start. */
  run(file: string, args: string[], options: RunOptions): Promise<ProcessOutcome> {
    const helper = this.helper ?? this.startHelper();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // The helper kills the program at timeoutMs; silence past that means it is stuck.
        this.stopHelper(helper, 'did not answer in time');
      }, options.timeoutMs + HELPER_GRACE_MS);
      this.pending.set(id, { resolve, reject, timer, helper });
      helper.channel?.ref();
      helper.send(
        {
          id,
          file,
          args,
          options: {
            timeout: options.timeoutMs,
            maxBuffer: options.maxBuffer,
            killSignal: 'SIGKILL',
          },
        },
        (err) => {
          if (err) this.settle(id, new Error(`could not reach the helper process: ${err.message}`));
        },
      );
    });
  }

  /** The helper's pid, or null when none runs (it starts on first use). */
  helperPid(): number | null {
    return this.helper?.pid ?? null;
  }

  // After the HTTP server has closed, like the database pool: a running apply keeps its CLI.
  onApplicationShutdown(): void {
    if (this.helper) this.stopHelper(this.helper, 'the portal is shutting down');
  }

  private startHelper(): ChildProcess {
    const helper = fork(HELPER_SCRIPT, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // V8's serializer: about 1 ms less per 200 KB read-back than JSON.
      serialization: 'advanced',
      // Plain JS: none of the portal's own node flags (ts-node, --cpu-prof, an inspector).
      execArgv: [],
    });
    this.helper = helper;
    helper.on('message', (msg: ProcessOutcome & { id: number }) => {
      const { id, ...outcome } = msg;
      this.settle(id, outcome);
    });
    helper.on('error', (err) => this.forget(helper, `could not start: ${err.message}`));
    helper.on('exit', (code, signal) => {
      const why = `exited (${signal ?? `code ${code}`})`;
      if (this.forget(helper, why)) this.logger.warn(`The CLI helper process ${why}`);
    });
    // An idle helper must not keep the portal (or a test run) alive.
    helper.unref();
    helper.channel?.unref();
    return helper;
  }

  private stopHelper(helper: ChildProcess, why: string): void {
    this.forget(helper, why);
    helper.kill('SIGKILL');
  }

  /** Drops a helper that is gone; its unanswered calls fail. Returns how many there were. */
  private forget(helper: ChildProcess, why: string): number {
    if (this.helper === helper) this.helper = null;
    let failed = 0;
    for (const [id, p] of [...this.pending]) {
      if (p.helper !== helper) continue;
      this.settle(id, new Error(`the helper process that runs it ${why}`));
      failed++;
    }
    return failed;
  }

  private settle(id: number, result: ProcessOutcome | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (![...this.pending.values()].some((q) => q.helper === p.helper)) p.helper.channel?.unref();
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }
}
