import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** The metrics module's one query. */
@Injectable()
export class MetricsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** 1 when a trivial query answers, 0 when the database does not. */
  async ping(): Promise<number> {
    return this.db.query('SELECT 1').then(
      () => 1,
      () => 0,
    );
  }

  async countUsers(tenantId: string): Promise<number> {
    const [row] = await this.db.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM "user" WHERE tenant_id = $1',
      [tenantId],
    );
    return row.n;
  }
}
