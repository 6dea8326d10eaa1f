import { setTimeout as sleep } from 'node:timers/promises';
import { type AttemptOutcome, attemptKey, type OutboxRepository } from './outbox.repository';

/**
 * The first outcome waits this long for others: the deliveries of one event end close
 * together. It delays only the record, not the delivery (the receiver has it already).
 */
const GATHER_MS = 10;

interface Waiting {
  outcome: AttemptOutcome;
  resolve: (recorded: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Records the worker's attempts in batches: every outcome that arrives while one statement runs
 * goes into the next, so a busy worker writes one statement per batch instead of one per
 * attempt (each is a round trip and a commit on a database the API shares). Used outside any transaction: a batch mixes the outcomes of many deliveries.
 */
export class AttemptRecorder {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly outbox: OutboxRepository) {}

  /** Resolves with false when nothing was recorded: the delivery is gone or its lease lost. */
  record(outcome: AttemptOutcome): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      this.flushing ??= this.flush(GATHER_MS).finally(() => {
        this.flushing = null;
      });
    });
  }

  private async flush(gatherMs: number): Promise<void> {
    await sleep(gatherMs);
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        const recorded = await this.outbox.recordAttempts(batch.map((w) => w.outcome));
        for (const w of batch) w.resolve(recorded.has(attemptKey(w.outcome)));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }
}
