import { randomUUID } from 'node:crypto';
import type { ApplyTimingsDto } from './dto/apply.dto';
import type { NodeResult } from './node-apply';

export const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);
export const asError = (err: unknown): Error =>
  err instanceof Error ? err : new Error(String(err));

/** Runs one step and adds its wall time, in whole milliseconds, to `timings[key]`. */
export async function timed<K extends string, T>(
  timings: Record<K, number>,
  key: K,
  step: () => Promise<T>,
): Promise<T> {
  const t = performance.now();
  try {
    return await step();
  } finally {
    timings[key] += Math.round(performance.now() - t);
  }
}

/**
 * A failure the audit row and the answer record: `reason` says what is wrong, once; the
 * message adds what the apply did about it. `rethrow`, when set, answers the request instead.
 */
export class ApplyFailure extends Error {
  constructor(
    readonly outcome: 'failed' | 'rolled_back' | 'partial',
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
  /** Every node's part, once the nodes have run. */
  nodes: NodeResult[] = [];
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
  time<T>(key: keyof ApplyTimingsDto, step: () => Promise<T>): Promise<T> {
    return timed(this.timings, key, step);
  }

  /** The nodes ran side by side: each step of the answer's timings is the slowest node's. */
  addNodeTimings(): void {
    const keys = ['writeMs', 'reloadMs', 'reloadCliMs', 'verifyMs', 'verifyCliMs'] as const;
    for (const key of keys) {
      this.timings[key] = Math.max(0, ...this.nodes.map((n) => n.timings[key]));
    }
    this.timings.planMs += Math.max(
      0,
      ...this.nodes.map((n) => n.timings.connectMs + n.timings.planMs),
    );
    this.timings.finishMs += Math.max(0, ...this.nodes.map((n) => n.timings.finishMs));
  }
}
