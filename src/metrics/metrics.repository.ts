import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';

/** The metrics module's one query. */
@Injectable()
export class MetricsRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** 1 when a trivial query answers, 0 when the database does not. */
  async ping(): Promise<number> {
    return this.txHost.tx.query('SELECT 1').then(
      () => 1,
      () => 0,
    );
  }

  async countUsers(tenantId: string): Promise<number> {
    const [row] = await this.txHost.tx.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM "user" WHERE tenant_id = $1',
      [tenantId],
    );
    return row.n;
  }
}
