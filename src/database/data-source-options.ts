import { DataSourceOptions } from 'typeorm';
import { ApplyAuditLog } from '../apply/entities/apply-audit-log.entity';
import { Extension } from '../extensions/entities/extension.entity';
import { Tenant } from '../tenants/tenant.entity';
import { User } from '../users/entities/user.entity';
import { Initial1764000000000 } from '../../migrations/1764000000000-Initial';
import { AllocateUserFunction1764000000001 } from '../../migrations/1764000000001-AllocateUserFunction';
import { AllocateWithNumberLocks1764000000002 } from '../../migrations/1764000000002-AllocateWithNumberLocks';

export const ENTITIES = [Tenant, User, Extension, ApplyAuditLog];
export const MIGRATIONS = [
  Initial1764000000000,
  AllocateUserFunction1764000000001,
  AllocateWithNumberLocks1764000000002,
];

/** One definition shared by the app and the TypeORM CLI, so both see the same schema. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'all',
    extra: {
      max: 10,
      // A dead database must fail requests quickly (503), not hang them.
      connectionTimeoutMillis: 3000,
      statement_timeout: 15000,
    },
  };
}
