import { Global, Module } from '@nestjs/common';
import { MetricsCollectors } from './metrics-collectors';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { NO_PHONE_STATES, PHONE_STATES_SOURCE } from './phone-states-source';
import { PortalMetrics } from './portal-metrics';

/**
 * GET /metrics and the registry every module reports to. PHONE_STATES_SOURCE reports nothing
 * until a registration listing is provided in its place.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    PortalMetrics,
    MetricsRepository,
    MetricsCollectors,
    { provide: PHONE_STATES_SOURCE, useValue: NO_PHONE_STATES },
  ],
  exports: [PortalMetrics],
})
export class MetricsModule {}
