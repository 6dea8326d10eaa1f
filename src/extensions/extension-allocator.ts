import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { PortalConfig } from '../config/portal-config.service';
import { extensionPoolExhausted } from '../common/errors/domain-errors';

/** Advisory-lock keys (namespace, id) shared by every portal process on one database. */
export const LOCK_NAMESPACE = 0x5359;
export const ALLOCATION_LOCK_ID = 1;

/**
 * Picks the lowest free extension. Callers run it inside the transaction that inserts the
 * extension: the transaction-scoped advisory lock serializes allocation across processes
 * until commit, and the primary key on `extension.number` is the backstop.
 */
@Injectable()
export class ExtensionAllocator {
  constructor(private readonly config: PortalConfig) {}

  async lowestFree(manager: EntityManager): Promise<number> {
    const { min, max } = this.config.extensionRange;
    await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [
      LOCK_NAMESPACE,
      ALLOCATION_LOCK_ID,
    ]);
    // A gap search over the ordered index: O(used numbers), no series materialized.
    const rows: { n: number | null }[] = await manager.query(
      `SELECT CASE
                WHEN NOT EXISTS (SELECT 1 FROM extension WHERE number = $1) THEN $1
                ELSE (SELECT e.number + 1 FROM extension e
                      WHERE e.number >= $1 AND e.number < $2
                        AND NOT EXISTS (SELECT 1 FROM extension f WHERE f.number = e.number + 1)
                      ORDER BY e.number LIMIT 1)
              END AS n`,
      [min, max],
    );
    const n = rows[0]?.n;
    if (n === null || n === undefined) throw extensionPoolExhausted(min, max);
    return n;
  }
}
