import { Module } from '@nestjs/common';
import { ClsPluginTransactional } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { ClsModule } from 'nestjs-cls';
import { PortalConfig } from '../config/portal-config.service';
import { DatabaseRepository } from './database.repository';
import { dataSourceOptions } from './data-source-options';
import { NotificationListener } from './notification-listener';
import { SessionLocks } from './session-locks';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [PortalConfig],
      useFactory: (config: PortalConfig) => {
        const url = config.databaseUrl;
        if (!url) throw new Error('DATABASE_URL is not set and no embedded database was started');
        // Pending migrations run at start-up so a deploy is one step; the CLI does the same.
        return {
          ...dataSourceOptions(url),
          migrationsRun: true,
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
    // One transaction mechanism: the service owning a use case starts it (@Transactional() or
    // TransactionHost.withTransaction) and every repository joins it through TransactionHost.tx.
    // A maintained library rather than our own AsyncLocalStorage wrapper: it already gets
    // propagation, nesting and the non-request case (start-up jobs) right, and is tested.
    // Services call withTransaction on their injected host, not the @Transactional()
    // decorator: that finds its host through a process-wide static (the last app booted), and
    // the tests run several apps in one process.
    ClsModule.forRoot({
      global: true,
      plugins: [
        new ClsPluginTransactional({
          imports: [TypeOrmModule],
          adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: getDataSourceToken() }),
        }),
      ],
    }),
  ],
  providers: [DatabaseRepository, SessionLocks, NotificationListener],
  exports: [DatabaseRepository, SessionLocks, NotificationListener],
})
export class DatabaseModule {}
