import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';
import { OutboxRepository } from './outbox.repository';

/** The first look comes this long after start-up, out of the way of a restart's busy minute. */
const FIRST_PRUNE_MS = 60_000;
const PRUNE_EVERY_MS = 60 * 60_000;
/** Events deleted per statement: a large backlog goes in short statements, not one long one. */
const BATCH = 5_000;

/**
 * Keeps the outbox from growing for ever: WEBHOOK_RETENTION_DAYS after an event was made, its
 * finished (delivered or failed) deliveries go with their attempts, and then the event once it
 * has none left. A delivery still pending is kept however old (its subscription may be
 * disabled and be enabled again), and so is its event. Each process prunes; they skip each other's rows.
 */
@Injectable()
export class OutboxPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxPruner.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly config: PortalConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(FIRST_PRUNE_MS);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Before the database closes under it.
    await this.running;
  }

  /** Deletes everything past its retention; returns how many events and deliveries went. */
  async prune(): Promise<{ deliveries: number; events: number }> {
    const days = this.config.webhooks.retentionDays;
    const total = { deliveries: 0, events: 0 };
    for (;;) {
      const went = await this.outbox.pruneFinished(days, BATCH);
      total.deliveries += went.deliveries;
      total.events += went.events;
      if (went.deliveries < BATCH && went.events < BATCH) break;
    }
    if (total.deliveries + total.events > 0) {
      this.logger.log(
        `Webhook history older than ${days} days deleted: ${total.events} events, ${total.deliveries} deliveries`,
      );
    }
    return total;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.running = this.prune()
        .catch((err: unknown) => this.logger.warn(`Webhook history not pruned: ${String(err)}`))
        .finally(() => {
          this.running = null;
          if (this.timer) this.schedule(PRUNE_EVERY_MS);
        });
    }, ms);
    this.timer.unref();
  }
}
