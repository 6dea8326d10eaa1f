import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ChangeAudit } from './entities/change-audit.entity';

export type NewAuditRow = Omit<ChangeAudit, 'id' | 'at' | 'tenant'>;

export interface AuditFilter {
  tenantId: string;
  /** A key id when it is a UUID, otherwise an actor name (`bootstrap`, or a key's name). */
  actor: string | null;
  action: string | null;
  targetId: string | null;
  since: Date | null;
  until: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every query of the change audit: an insert (inside the change's transaction) and a page. */
@Injectable()
export class AuditRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** In the active transaction: the change's own. */
  async insert(row: NewAuditRow): Promise<void> {
    // jsonb: TypeORM's deep-partial type cannot follow Record<string, unknown>.
    await this.txHost.tx.insert(ChangeAudit, row as QueryDeepPartialEntity<ChangeAudit>);
  }

  /** A page of rows matching every filter given, newest first, and how many match. */
  async page(
    f: AuditFilter,
    limit: number,
    offset: number,
  ): Promise<{ rows: ChangeAudit[]; total: number }> {
    const q = this.txHost.tx
      .getRepository(ChangeAudit)
      .createQueryBuilder('a')
      .where('a.tenant_id = :tenantId', { tenantId: f.tenantId });
    if (f.actor !== null) {
      if (UUID.test(f.actor)) q.andWhere('a.actor_id = :actor', { actor: f.actor });
      else q.andWhere('a.actor_name = :actor', { actor: f.actor });
    }
    if (f.action !== null) q.andWhere('a.action = :action', { action: f.action });
    if (f.targetId !== null) q.andWhere('a.target_id = :targetId', { targetId: f.targetId });
    if (f.since !== null) q.andWhere('a.at >= :since', { since: f.since });
    if (f.until !== null) q.andWhere('a.at <= :until', { until: f.until });
    const [rows, total] = await q
      // id breaks ties, so a page boundary never repeats or skips a row of the same instant.
      .orderBy('a.at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .take(limit)
      .skip(offset)
      .getManyAndCount();
    return { rows, total };
  }
}
