import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { ApplyModule } from './apply/apply.module';
import { AsteriskModule } from './asterisk/asterisk.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ApiExceptionFilter } from './common/errors/api-exception.filter';
import { LoggingModule } from './common/http/logging.module';
import { PortalConfigModule } from './config/portal-config.module';
import { PortalConfig } from './config/portal-config.service';
import { DatabaseModule } from './database/database.module';
import { ExtensionsModule } from './extensions/extensions.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /** Built per app instance, with the configuration that instance starts with. */
  static forRoot(config: PortalConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PortalConfigModule.forRoot(config),
        LoggingModule,
        AuthModule,
        DatabaseModule,
        HealthModule,
        MetricsModule,
        ExtensionsModule,
        UsersModule,
        AsteriskModule,
        ApplyModule,
        AuditModule,
        ApiKeysModule,
        WebhooksModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }
}
