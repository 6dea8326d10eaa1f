import { Injectable } from '@nestjs/common';
import { APP_LOCK_NAMESPACE, APPLY_LOCK_ID } from '../database/advisory-locks';
import { SessionLocks } from '../database/session-locks';

const APPLY_LOCK = { namespace: APP_LOCK_NAMESPACE, id: APPLY_LOCK_ID };

/**
 * Serializes applies: in this process with a promise chain (so waiting applies hold no pool
 * connection), across processes with a session advisory lock on one dedicated connection,
 * which PostgreSQL releases by itself if the process dies.
 */
@Injectable()
export class ApplyLock {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly locks: SessionLocks) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(() => this.locks.withLock(APPLY_LOCK, work));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Runs work only if no apply runs anywhere; returns undefined when one does. */
  tryRun<T>(work: () => Promise<T>): Promise<T | undefined> {
    return this.locks.tryWithLock(APPLY_LOCK, work);
  }
}
