import { setMaxListeners } from 'node:events';
import { AuditWriter, SYSTEM_CONTEXT } from '../audit/audit-writer';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';
import { NotificationListener, Subscription } from '../database/notification-listener';
import { parseNetworks } from './address-rules';
import { AttemptRecorder } from './attempt-recorder';
import {
  attemptKey,
  ClaimedDelivery,
  DELIVERY_CHANNEL,
  OutboxRepository,
} from './outbox.repository';
import { verdict } from './retry-schedule';
import { SubscriptionsRepository } from './subscriptions.repository';
import { DELIVERY_TIMEOUT_MS, WebhookSender } from './webhook-sender';
import { signedHeaders } from './webhook-signer';
import { WebhookMetrics } from './webhook-metrics';

/** Deliveries in flight at once per process: a slow receiver does not hold up the others. */
const CONCURRENCY = 16;
/** A claimed delivery is this process's for the timeout and this margin; then anyone's. */
const LEASE_SECONDS = DELIVERY_TIMEOUT_MS / 1000 + 15;
/** Looked at least this often even without a NOTIFY (one lost while reconnecting, say). */
const MAX_SLEEP_MS = 60_000;
/** After a database error, wait this long before claiming again. */
const ERROR_PAUSE_MS = 5_000;
/** A wake-up waits this long first: the NOTIFYs of changes close together make one claim. */
const GATHER_MS = 5;
/**
 * When the last send has ended, the worker waits this long before it asks what falls due later
 * (retries, the leases of a process that died): under steady load it would ask after every
 * lull, and what is due meanwhile is claimed by the next wake-up anyway.
 */
const SETTLE_MS = 1_000;

/**
 * Sends the outbox's deliveries. Why our own outbox with FOR UPDATE SKIP LOCKED rather than
 * pg-boss or graphile-worker: the deliveries are our own rows, which the API lists and retries
 * anyway, so a job library would add a second schema mirroring them, and its own polling loop;
 * SKIP LOCKED already lets several processes claim without waiting on or doubling each other,
 * and LISTEN/NOTIFY (sent at commit) gives the wake-up.
 *
 * Deliveries are claimed with a lease in a short statement of their own, sent outside any
 * transaction, then their attempts and new states are recorded (in batches: AttemptRecorder). A process killed mid-delivery
 * leaves a lease that runs out, and the delivery is claimed again and sent with the same
 * webhook-id (the event's id): delivery is at least once, and receivers drop duplicates.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryWorker.name);
  private readonly sender: WebhookSender;
  private readonly schedule: readonly number[];
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly recorder: AttemptRecorder;
  private listening: Subscription | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  /** The last claim filled every free slot: more deliveries may be due already. */
  private backlog = false;
  private stopped = false;
  private timer: { handle: NodeJS.Timeout; at: number } | null = null;
  private gathering: NodeJS.Timeout | null = null;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly listener: NotificationListener,
    private readonly metrics: WebhookMetrics,
    private readonly audit: AuditWriter,
    config: PortalConfig,
  ) {
    this.sender = new WebhookSender(parseNetworks(config.webhooks.allowedNetworks), CONCURRENCY);
    this.schedule = config.webhooks.retrySchedule;
    this.recorder = new AttemptRecorder(outbox);
    // Every send in flight listens for the stop, and a stale connection's resend once more.
    setMaxListeners(CONCURRENCY * 2, this.abort.signal);
  }

  onApplicationBootstrap(): void {
    // Every (re)connection catches up: NOTIFYs sent while not listening are lost.
    this.listening = this.listener.listen(
      DELIVERY_CHANNEL,
      () => this.kick(),
      () => this.kick(),
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer.handle);
    if (this.gathering) clearTimeout(this.gathering);
    await this.listening?.close();
    await this.pumping;
    await Promise.all([...this.inFlight]);
    this.sender.close();
  }

  /** Claims and sends what is due now; called on NOTIFY, on a timer, and as sends finish. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.gathering) return;
    this.gathering = setTimeout(() => {
      this.gathering = null;
      this.pumping = this.pump().finally(() => {
        this.pumping = null;
        // A wake-up during the pump's last look-up (the next due time) is not lost.
        if (this.again) this.kick();
      });
    }, GATHER_MS);
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        // Claims until a claim comes back short (nothing more is due now) or every slot is
        // taken (more may be due: the next send to finish claims again).
        for (;;) {
          if (this.stopped) return;
          const free = CONCURRENCY - this.inFlight.size;
          if (free <= 0) {
            this.backlog = true;
            break;
          }
          const claimed = await this.outbox.claim(free, LEASE_SECONDS);
          for (const delivery of claimed) this.start(delivery);
          if (claimed.length < free) {
            this.backlog = false;
            break;
          }
        }
      } while (this.again && !this.stopped);
      // While a send is in flight, its end looks again; only an idle worker needs the timer.
      if (this.inFlight.size === 0) await this.sleepUntilNextDue();
    } catch (err) {
      if (this.stopped) return;
      this.logger.warn(`Webhook deliveries paused: ${String(err)}`);
      this.wakeIn(ERROR_PAUSE_MS);
    }
  }

  private start(delivery: ClaimedDelivery): void {
    const running = this.deliver(delivery)
      .catch((err: unknown) => {
        if (!this.stopped) {
          this.logger.warn(`Webhook delivery ${delivery.id} not recorded: ${String(err)}`);
        }
      })
      .finally(() => {
        this.inFlight.delete(running);
        // A claim per finished send only while more may be waiting.
        if (this.backlog) this.kick();
        else if (this.inFlight.size === 0) this.wakeBy(SETTLE_MS);
      });
    this.inFlight.add(running);
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const body = JSON.stringify({
      id: d.eventId,
      type: d.eventType,
      timestamp: d.occurredAt.toISOString(),
      data: d.data,
    });
    const started = Date.now();
    const result = await this.sender.send(
      { url: d.url, body, headers: signedHeaders(d.eventId, body, d.secrets) },
      this.abort.signal,
    );
    // Stopped mid-send (the database is still open then): the delivery is given back, and
    // another process, or this one after its restart, sends it again with the same webhook-id.
    if (this.stopped) {
      await this.outbox.release(d.id, d.lockedUntil);
      return;
    }
    const at = new Date();
    const httpStatus = 'status' in result ? result.status : null;
    let error = 'error' in result ? result.error : null;
    if (httpStatus !== null && httpStatus >= 300 && httpStatus < 400) {
      error = `redirect (${httpStatus}) not followed`;
    }
    const v = verdict(d.attempt, httpStatus, this.schedule, at);
    const outcome = {
      deliveryId: d.id,
      attempt: d.attempt,
      at,
      httpStatus,
      error,
      durationMs: at.getTime() - started,
      status: v.status,
      nextAttemptAt: v.nextAttemptAt,
      lockedUntil: d.lockedUntil,
    };
    if (v.outcome === 'gone') {
      await this.txHost.withTransaction(async () => {
        // A lease lost meanwhile: another process owns the delivery and its outcome.
        if (!(await this.outbox.recordAttempts([outcome])).has(attemptKey(outcome))) return;
        const reason = `the receiver answered 410 Gone at ${at.toISOString()}`;
        // Once, by whichever process saw the 410 first, as the portal's own change.
        if (await this.subscriptions.disable(d.subscriptionId, reason)) {
          await this.audit.record(
            {
              action: 'webhook.update',
              target: { type: 'webhook', id: d.subscriptionId },
              changes: {
                before: { enabled: true },
                after: { enabled: false, disabledReason: reason },
              },
            },
            SYSTEM_CONTEXT,
          );
        }
      });
    } else {
      // A retry due before the sends in flight end is claimed on time.
      if ((await this.recorder.record(outcome)) && v.nextAttemptAt) {
        this.wakeBy(Math.max(0, v.nextAttemptAt.getTime() - Date.now()) + GATHER_MS);
      }
    }
    this.metrics.attempted(v.outcome);
    if (v.outcome === 'gone') {
      this.logger.warn(`Webhook ${d.subscriptionId} answered 410 Gone: disabled`);
    } else if (v.outcome !== 'delivered') {
      this.logger.warn(
        `Webhook ${d.subscriptionId}: event ${d.eventId} attempt ${d.attempt} failed (${httpStatus ?? error}); ${v.outcome === 'failed' ? 'no retry left' : `next at ${v.nextAttemptAt?.toISOString()}`}`,
      );
    }
  }

  private async sleepUntilNextDue(): Promise<void> {
    if (this.stopped) return;
    const due = await this.outbox.nextDueAt();
    const ms = due ? Math.max(0, due.getTime() - Date.now()) : MAX_SLEEP_MS;
    this.wakeIn(Math.min(ms + 5, MAX_SLEEP_MS));
  }

  /** Sets the one timer to `ms` from now, replacing any other. */
  private wakeIn(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer.handle);
    const handle = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
    handle.unref();
    this.timer = { handle, at: Date.now() + ms };
  }

  /** Wakes within `ms`: a timer set sooner stays. */
  private wakeBy(ms: number): void {
    if (!this.timer || this.timer.at > Date.now() + ms) this.wakeIn(ms);
  }
}
