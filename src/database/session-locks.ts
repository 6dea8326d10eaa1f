import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A two-key advisory lock, as named in advisory-locks.ts. */
export interface LockKey {
  namespace: number;
  id: number;
}

/**
 * Session-level advisory locks, each held on a dedicated connection for as long as its work
 * runs: PostgreSQL releases it by itself if the process dies. The one place holding a
 * QueryRunner; the work's own queries go through the TransactionHost like any other.
 */
@Injectable()
export class SessionLocks {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Waits for the lock, however long another process holds it, then runs `work`. */
  async withLock<T>(key: LockKey, work: () => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      // Waiting for another process is queueing, not a stuck query: no statement timeout for
      // the wait itself (RESET restores the pool's default afterwards).
      await runner.query('SET statement_timeout = 0');
      await runner.query('SELECT pg_advisory_lock($1, $2)', [key.namespace, key.id]);
      await runner.query('RESET statement_timeout');
      try {
        return await work();
      } finally {
        await runner
          .query('SELECT pg_advisory_unlock($1, $2)', [key.namespace, key.id])
          .catch(() => undefined); // a dead connection has released the lock already
      }
    } finally {
      await runner.release();
    }
  }

  /** Runs `work` only if the lock is free now; undefined when another session holds it. */
  async tryWithLock<T>(key: LockKey, work: () => Promise<T>): Promise<T | undefined> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const rows = await runner.manager.query<{ locked: boolean }[]>(
        'SELECT pg_try_advisory_lock($1, $2) AS locked',
        [key.namespace, key.id],
      );
      if (!rows[0]?.locked) return undefined;
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, $2)', [key.namespace, key.id]);
      }
    } finally {
      await runner.release();
    }
  }
}
