import { Logger as NestLogger } from '@nestjs/common';
import type { DataSourceOptions, Logger } from 'typeorm';
import { ApiKey } from '../api-keys/entities/api-key.entity';
import { ApplyAuditLog } from '../apply/entities/apply-audit-log.entity';
import { ApplyNodeState } from '../apply/entities/apply-node-state.entity';
import { ChangeAudit } from '../audit/entities/change-audit.entity';
import { Extension } from '../extensions/entities/extension.entity';
import { Tenant } from '../tenants/tenant.entity';
import { User } from '../users/entities/user.entity';
import { PhoneStateRow } from '../webhooks/entities/phone-state.entity';
import { WebhookAttempt } from '../webhooks/entities/webhook-attempt.entity';
import { WebhookDelivery } from '../webhooks/entities/webhook-delivery.entity';
import { WebhookEvent } from '../webhooks/entities/webhook-event.entity';
import { WebhookSubscription } from '../webhooks/entities/webhook-subscription.entity';
import { Initial1764000000000 } from '../../migrations/1764000000000-Initial';
import { AllocateUserFunction1764000000001 } from '../../migrations/1764000000001-AllocateUserFunction';
import { AllocateWithNumberLocks1764000000002 } from '../../migrations/1764000000002-AllocateWithNumberLocks';
import { ApiKeysAndChangeAudit1764000000003 } from '../../migrations/1764000000003-ApiKeysAndChangeAudit';
import { Webhooks1764000000004 } from '../../migrations/1764000000004-Webhooks';
import { PhoneStates1764000000005 } from '../../migrations/1764000000005-PhoneStates';
import { ApplyNodeState1764000000010 } from '../../migrations/1764000000010-ApplyNodeState';
import { SystemActor1764000000011 } from '../../migrations/1764000000011-SystemActor';
import { WebhookRetention1764000000012 } from '../../migrations/1764000000012-WebhookRetention';

export const ENTITIES = [
  Tenant,
  User,
  Extension,
  ApplyAuditLog,
  ApplyNodeState,
  ApiKey,
  ChangeAudit,
  WebhookSubscription,
  WebhookEvent,
  WebhookDelivery,
  WebhookAttempt,
  PhoneStateRow,
];
export const MIGRATIONS = [
  Initial1764000000000,
  AllocateUserFunction1764000000001,
  AllocateWithNumberLocks1764000000002,
  ApiKeysAndChangeAudit1764000000003,
  Webhooks1764000000004,
  PhoneStates1764000000005,
  ApplyNodeState1764000000010,
  SystemActor1764000000011,
  WebhookRetention1764000000012,
];

/** Where the migration lines go: the app's log by default, plain text for the CLI. */
export type MigrationLog = (level: 'log' | 'error', line: string) => void;

const appLog: MigrationLog = (level, line) => new NestLogger('Migrations')[level](line);

/**
 * TypeORM's logger, for the migrations only: one line when there is nothing to run, one when
 * pending ones start and one per migration run (with its time). Queries are not logged, as
 * before (their parameters hold digests); a failure reaches the caller as the thrown error.
 */
export function migrationLogger(log: MigrationLog = appLog): Logger {
  let since = Date.now();
  return {
    logQuery: () => undefined,
    logQueryError: () => undefined,
    logQuerySlow: () => undefined,
    log: () => undefined,
    logSchemaBuild: (message: string) => {
      const pending = /^(\d+) migrations are new migrations must be executed/.exec(message);
      const ran = /^Migration (\S+) has been (\(fake\) )?executed successfully/.exec(message);
      if (message === 'No migrations are pending') {
        log('log', 'no pending migrations; the schema is up to date');
      } else if (pending) {
        log('log', `running ${pending[1]} pending migration${pending[1] === '1' ? '' : 's'}`);
        since = Date.now();
      } else if (ran) {
        log(
          'log',
          `migration ${ran[1]} ${ran[2] ? 'marked as run' : 'run'} in ${Date.now() - since} ms`,
        );
        since = Date.now();
      }
    },
    logMigration: (message: string) => log('error', message),
  };
}

/** One definition shared by the app and the TypeORM CLI, so both see the same schema. */
export function dataSourceOptions(url: string, log?: MigrationLog): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    logger: migrationLogger(log),
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
