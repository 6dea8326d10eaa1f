import { randomUUID } from 'node:crypto';
import type { CliExchange } from '../asterisk/asterisk-reloader';
import type { GeneratedFileKind } from '../asterisk/config-writer';
import type { ApplyFileDto, ApplyTimingsDto } from './dto/apply.dto';

export const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);
export const asError = (err: unknown): Error =>
  err instanceof Error ? err : new Error(String(err));

/**
 * A failure the audit row and the answer record: `reason` says what is wrong, once; the
 * message adds what the apply did about it. `rethrow`, when set, answers the request instead.
 */
export class ApplyFailure extends Error {
  constructor(
    readonly outcome: 'failed' | 'rolled_back',
    readonly reason: string,
    done: string,
    readonly rethrow?: Error,
  ) {
    super(`${reason.replace(/\.$/, '')}. ${done}`);
  }
}

/** The facts of one apply as it runs: the audit row and the answer are built from them. */
export class ApplyRun {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  private readonly t0 = performance.now();
  users = 0;
  /** Start to audit row closed, as the row records it. */
  durationMs = 0;
  hash: string | null = null;
  files: ApplyFileDto[] = [];
  /** Both files as they were before this apply, once read. */
  before: Record<GeneratedFileKind, string | null> | null = null;
  readonly transcript: string[] = [];
  readonly timings: ApplyTimingsDto = {
    planMs: 0,
    writeMs: 0,
    reloadMs: 0,
    reloadCliMs: 0,
    verifyMs: 0,
    verifyCliMs: 0,
    finishMs: 0,
  };

  elapsed(): number {
    return Math.round(performance.now() - this.t0);
  }

  /** Runs one step and adds its wall time to `key`. */
  async time<T>(key: keyof ApplyTimingsDto, step: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await step();
    } finally {
      this.timings[key] += Math.round(performance.now() - t);
    }
  }

  /** Keeps what Asterisk said and how long its CLI took. */
  record(key: 'reloadCliMs' | 'verifyCliMs', exchange: CliExchange): void {
    this.transcript.push(...exchange.transcript);
    this.timings[key] += exchange.cliMs;
  }
}
