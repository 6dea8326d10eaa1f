import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit-writer';
import { ApplyRepository } from './apply.repository';

/**
 * Closes the audit rows of applies a dead portal left `running`, with their change-audit rows
 * in the same transaction. Called under the apply lock only (by an apply, and at start-up).
 */
@Injectable()
export class ApplyInterruptions {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly repo: ApplyRepository,
    private readonly audit: AuditWriter,
  ) {}

  /** How many rows were closed. */
  close(): Promise<number> {
    return this.txHost.withTransaction(async () => {
      const rows = await this.repo.markInterrupted();
      // In the name of whoever asked for each apply (no request runs at start-up). Rows older
      // than API keys name nobody and get none.
      for (const row of rows) {
        if (!row.actorType) continue;
        await this.audit.record(
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
            actor: { type: row.actorType, id: row.actorId, name: row.actorName ?? '' },
            requestId: row.requestId,
            clientAddress: null,
          },
        );
      }
      return rows.length;
    });
  }
}
