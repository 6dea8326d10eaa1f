import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { currentRequestContext } from '../common/access/request-context';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import type { AuditAction } from './audit-actions';
import { AuditRepository } from './audit.repository';
import type { ActorType, AuditChanges } from './entities/change-audit.entity';

/** Who a row names, and the request it came from (none for the portal's own changes). */
export interface AuditContext {
  actor: { type: ActorType; id: string | null; name: string };
  requestId: string | null;
  clientAddress: string | null;
}

/** The portal itself, acting on what it learnt outside any request. */
export const SYSTEM_CONTEXT: AuditContext = {
  actor: { type: 'system', id: null, name: 'system' },
  requestId: null,
  clientAddress: null,
};

export interface AuditEntry {
  action: AuditAction;
  target: { type: string; id: string | null };
  /** Non-secret fields only: never a password, digest or key. */
  changes: AuditChanges;
}

/**
 * Writes the audit row of a change in the change's own transaction (the active one), so the
 * row commits or rolls back with it. Who, the request id and the client
 * address come from the request being handled (RequestContextInterceptor); outside a request
 * pass `context` (tests, start-up jobs, SYSTEM_CONTEXT).
 */
@Injectable()
export class AuditWriter {
  constructor(
    private readonly repo: AuditRepository,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  async record(
    entry: AuditEntry,
    context: AuditContext | undefined = currentRequestContext(),
  ): Promise<void> {
    if (!context) throw new Error(`No request context to audit ${entry.action} with`);
    if (!this.txHost.isTransactionActive()) {
      // Outside a transaction the row could outlive a change that fails, or the reverse.
      throw new Error(`The audit of ${entry.action} must be written in the change's transaction`);
    }
    const { actor } = context;
    await this.repo.insert({
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
