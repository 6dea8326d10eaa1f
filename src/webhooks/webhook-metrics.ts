import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PortalMetrics } from '../metrics/portal-metrics';
import { OutboxRepository } from './outbox.repository';
import type { AttemptVerdict } from './retry-schedule';

const OUTCOMES: readonly AttemptVerdict['outcome'][] = ['delivered', 'retrying', 'failed', 'gone'];

/** The webhook metrics: attempts by outcome, and the queue read at scrape time. */
@Injectable()
export class WebhookMetrics implements OnModuleInit {
  private deliveries?: Counter<'outcome'>;

  constructor(
    private readonly metrics: PortalMetrics,
    private readonly outbox: OutboxRepository,
  ) {}

  onModuleInit(): void {
    this.deliveries = new Counter({
      name: 'portal_webhook_deliveries_total',
      help: 'Delivery attempts by outcome: delivered, retrying (failed, retried later), failed (no retry left), gone (410: subscription disabled)',
      labelNames: ['outcome'] as const,
      registers: [this.metrics.registry],
    });
    for (const outcome of OUTCOMES) this.deliveries.inc({ outcome }, 0);
    // One query serves both gauges at a scrape: whichever runs first reads, the other reuses.
    let pending: Promise<{ depth: number; oldestSeconds: number }> | null = null;
    const stats = () => {
      pending ??= this.outbox.queueStats().finally(() => setImmediate(() => (pending = null)));
      return pending;
    };
    this.metrics.scrapedGauge(
      {
        name: 'portal_webhook_queue_depth',
        help: 'Webhook deliveries not yet delivered or failed',
      },
      async (g) => g.set((await stats()).depth),
    );
    this.metrics.scrapedGauge(
      {
        name: 'portal_webhook_oldest_undelivered_seconds',
        help: 'Age of the oldest pending webhook delivery, in seconds (0: none)',
      },
      async (g) => g.set((await stats()).oldestSeconds),
    );
  }

  attempted(outcome: AttemptVerdict['outcome']): void {
    this.deliveries?.inc({ outcome });
  }
}
