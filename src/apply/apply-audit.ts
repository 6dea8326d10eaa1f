import type { EntityManager } from 'typeorm';
import type { AuditWriter } from '../audit/audit-writer';
import type { ApplyAuditLog } from './entities/apply-audit-log.entity';

/**
 * The change-audit rows of applies closed as interrupted, in the transaction that closes them,
 * in the name of whoever asked for each apply (no request runs at start-up). Rows older than
 * API keys name nobody and get none.
 */
export async function auditInterrupted(
  audit: AuditWriter,
  tx: EntityManager,
  rows: ApplyAuditLog[],
): Promise<void> {
  for (const row of rows) {
    if (!row.actorType) continue;
    await audit.record(
      tx,
      {
        action: 'apply.run',
        target: { type: 'apply', id: row.id },
        changes: {
          before: null,
          after: {
            outcome: 'failed',
            users: row.userCount,
            hash: row.contentHash,
            interrupted: true,
          },
        },
      },
      {
        actor: { type: row.actorType, id: row.actorId, name: row.actorName ?? '', scopes: [] },
        requestId: row.requestId,
        clientAddress: null,
      },
    );
  }
}
