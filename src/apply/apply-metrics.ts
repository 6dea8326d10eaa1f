import { Injectable, OnModuleInit } from '@nestjs/common';
import { PortalMetrics } from '../metrics/portal-metrics';
import { ApplyPreviewService } from './apply-preview.service';
import { NodeProbe } from './node-probe.service';

/** portal_config_pending and portal_node_up, per node: computed when scraped. */
@Injectable()
export class ApplyMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: PortalMetrics,
    private readonly preview: ApplyPreviewService,
    private readonly probe: NodeProbe,
  ) {}

  onModuleInit(): void {
    this.metrics.scrapedGauge(
      {
        name: 'portal_config_pending',
        help: '1 when the node does not have what an apply would write now (GET /apply/status)',
        labelNames: ['node'] as const,
      },
      async (g) => {
        for (const n of await this.preview.nodeStatus()) g.set({ node: n.name }, n.pending ? 1 : 0);
      },
    );
    this.metrics.scrapedGauge(
      {
        name: 'portal_node_up',
        help: '1 when the node answered `core show version` (GET /nodes)',
        labelNames: ['node'] as const,
      },
      async (g) => {
        for (const h of await this.probe.all()) g.set({ node: h.node.name }, h.answers ? 1 : 0);
      },
    );
  }
}
