import { Global, Module } from '@nestjs/common';
import { MetricsCollectors } from './metrics-collectors';
import { MetricsController } from './metrics.controller';
import { DatabaseModule } from '../database/database.module';
import { RegistrationModule } from '../registration/registration.module';
import { UsersModule } from '../users/users.module';
import { PortalMetrics } from './portal-metrics';

/**
 * GET /metrics and the registry every module reports to. `portal_phones` comes from the
 * registration listing, read at scrape time and reused for up to 30 s.
 */
@Global()
@Module({
  imports: [DatabaseModule, UsersModule, RegistrationModule],
  controllers: [MetricsController],
  providers: [PortalMetrics, MetricsCollectors],
  exports: [PortalMetrics],
})
export class MetricsModule {}
