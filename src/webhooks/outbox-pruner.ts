import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';
import { OutboxRepository } from './outbox.repository';

/** The first look comes this long after start-up, out of the way of a restart's busy minute. */
const FIRST_PRUNE_MS = 60_000;
const PRUNE_EVERY_MS = 60 * 60_000;
/** Events deleted per statement: a large backlog goes in short statements, not one long one. */
const BATCH = 5_000;

/**
 * Keeps the outbox from growing for ever: an event whose deliveries have all finished
 * (delivered or failed) goes, with its deliveries and attempts, WEBHOOK_RETENTION_DAYS after it
 * was made. A delivery still pending is kept however old (its subscription may be disabled
 * and be enabled again), and so is its event. Each process prunes; they skip each other's rows.
 */
@Injectable()
export class OutboxPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxPruner.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly config: PortalConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(FIRST_PRUNE_MS);
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Deletes every event past its retention; returns how many. */
  async prune(): Promise<number> {
    const days = this.config.webhooks.retentionDays;
    let total = 0;
    for (;;) {
      const deleted = await this.outbox.pruneFinished(days, BATCH);
      total += deleted;
      if (deleted < BATCH) break;
    }
    if (total > 0) this.logger.log(`Webhook events older than ${days} days deleted: ${total}`);
    return total;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.prune()
        .catch((err: unknown) => this.logger.warn(`Webhook events not pruned: ${String(err)}`))
        .finally(() => {
          if (this.timer) this.schedule(PRUNE_EVERY_MS);
        });
    }, ms);
    this.timer.unref();
  }
}
