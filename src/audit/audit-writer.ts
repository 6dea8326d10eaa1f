import { Injectable } from '@nestjs/common';
import type { EntityManager, QueryRunner } from 'typeorm';
import { currentRequestContext, RequestContext } from '../common/auth/request-context';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import type { AuditAction } from './audit-actions';
import { AuditRepository } from './audit.repository';
import type { AuditChanges } from './entities/change-audit.entity';

export interface AuditEntry {
  action: AuditAction;
  target: { type: string; id: string | null };
  /** Non-secret fields only: never a password, digest or key. */
  changes: AuditChanges;
}

/**
 * Writes the audit row of a change with the manager (or query runner) of the change's own
 * transaction, so the row commits or rolls back with it. Who, the request id and the client
 * address come from the request being handled (RequestContextInterceptor); outside a request
 * pass `context` (tests, start-up jobs).
 */
@Injectable()
export class AuditWriter {
  constructor(private readonly repo: AuditRepository) {}

  async record(
    tx: EntityManager | QueryRunner,
    entry: AuditEntry,
    context: RequestContext | undefined = currentRequestContext(),
  ): Promise<void> {
    if (!context) throw new Error(`No request context to audit ${entry.action} with`);
    const m = 'manager' in tx ? tx.manager : tx;
    if (!m.queryRunner?.isTransactionActive) {
      // Outside a transaction the row could outlive a change that fails, or the reverse.
      throw new Error(`The audit of ${entry.action} must be written in the change's transaction`);
    }
    const { actor } = context;
    await this.repo.insert(m, {
      tenantId: DEFAULT_TENANT_ID,
      actorType: actor.type,
      actorId: actor.id,
      actorName: actor.name,
      action: entry.action,
      targetType: entry.target.type,
      targetId: entry.target.id,
      changes: entry.changes,
      requestId: context.requestId,
      clientAddress: context.clientAddress,
    });
  }
}
