import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { APP_LOCK_NAMESPACE, APPLY_LOCK_ID } from '../database/advisory-locks';

/**
 * Serializes applies: in this process with a promise chain (so waiting applies hold no pool
 * connection), across processes with a session advisory lock on one dedicated connection,
 * which PostgreSQL releases by itself if the process dies.
 */
@Injectable()
export class ApplyLock {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  run<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const next = this.tail.then(() => this.withAdvisoryLock(work));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Runs work only if no apply runs anywhere; returns undefined when one does. */
  async tryRun<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T | undefined> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const rows: { locked: boolean }[] = await runner.manager.query(
        'SELECT pg_try_advisory_lock($1, $2) AS locked',
        [APP_LOCK_NAMESPACE, APPLY_LOCK_ID],
      );
      if (!rows[0]?.locked) return undefined;
      try {
        return await work(runner);
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, $2)', [
          APP_LOCK_NAMESPACE,
          APPLY_LOCK_ID,
        ]);
      }
    } finally {
      await runner.release();
    }
  }

  private async withAdvisoryLock<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      // Waiting for another process's apply is queueing, not a stuck query: no statement
      // timeout for the wait itself (RESET restores the pool's default afterwards).
      await runner.query('SET statement_timeout = 0');
      await runner.query('SELECT pg_advisory_lock($1, $2)', [APP_LOCK_NAMESPACE, APPLY_LOCK_ID]);
      await runner.query('RESET statement_timeout');
      try {
        return await work(runner);
      } finally {
        await runner
          .query('SELECT pg_advisory_unlock($1, $2)', [APP_LOCK_NAMESPACE, APPLY_LOCK_ID])
          .catch(() => undefined); // a dead connection has released the lock already
      }
    } finally {
      await runner.release();
    }
  }
}
