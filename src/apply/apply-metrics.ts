import { Injectable, OnModuleInit } from '@nestjs/common';
import { PortalMetrics } from '../metrics/portal-metrics';
import { ApplyPreviewService } from './apply-preview.service';

/** portal_config_pending: computed as GET /apply/status does, when scraped. */
@Injectable()
export class ApplyMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: PortalMetrics,
    private readonly preview: ApplyPreviewService,
  ) {}

  onModuleInit(): void {
    this.metrics.scrapedGauge(
      {
        name: 'portal_config_pending',
        help: '1 when the database differs from the last successful apply (GET /apply/status)',
      },
      async (g) => g.set((await this.preview.pending()) ? 1 : 0),
    );
  }
}
