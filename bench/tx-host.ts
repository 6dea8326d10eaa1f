import { TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { DataSource } from 'typeorm';

/** A TransactionHost of `ds` outside the app, so a repository runs as it does in the portal. */
export function txHostOf(ds: DataSource): TransactionHost<TransactionalAdapterTypeOrm> {
  return new TransactionHost<TransactionalAdapterTypeOrm>({
    ...new TransactionalAdapterTypeOrm({ dataSourceToken: DataSource }).optionsFactory(ds),
    connectionName: undefined,
    enableTransactionProxy: false,
    defaultTxOptions: {},
    extraProviderTokens: [],
  });
}
