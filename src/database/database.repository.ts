import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';

/** Questions about the database itself rather than any module's tables. */
@Injectable()
export class DatabaseRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** True when a trivial query answers; false when it fails. */
  ping(): Promise<boolean> {
    return this.txHost.tx.query('SELECT 1').then(
      () => true,
      () => false,
    );
  }
}
