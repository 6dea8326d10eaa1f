import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import type { DeliveryStatus } from './entities/webhook-delivery.entity';

/** The channel the worker LISTENs on; PostgreSQL delivers a NOTIFY only when its tx commits. */
export const DELIVERY_CHANNEL = 'webhook_deliveries';

/** A delivery the worker holds the lease of, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  /** The number of this attempt. */
  attempt: number;
  subscriptionId: string;
  url: string;
  secrets: string[];
  eventId: string;
  eventType: string;
  data: Record<string, unknown>;
  occurredAt: Date;
  /** The lease this claim holds: recording an outcome needs it to be still ours. */
  lockedUntil: Date;
}

export interface AttemptOutcome {
  deliveryId: string;
  attempt: number;
  at: Date;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  /** The lease the attempt was made under: nothing is recorded once another process holds it. */
  lockedUntil: Date;
}

/** Names one attempt: its delivery and the lease it was made under. */
export const attemptKey = (o: { deliveryId: string; lockedUntil: Date }): string =>
  `${o.deliveryId}@${o.lockedUntil.getTime()}`;

export interface ListedDelivery {
  id: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: {
    attempt: number;
    at: Date;
    httpStatus: number | null;
    error: string | null;
    durationMs: number;
    nextAttemptAt: Date | null;
  }[];
}

interface ClaimRow {
  id: string;
  attempts: number;
  locked_until: Date;
  subscription_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/**
 * The outbox's queries: events and their deliveries written in the change's transaction, and
 * the worker's claim, record and look-ups.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /**
   * Writes the event and one delivery per enabled subscription that wants it (or only to
   * `subscriptionId`, for a ping), in the active transaction, and wakes every worker at its
   * commit: the NOTIFY rides in the same statement, so a create pays no extra round trip for
   * it. No subscription wants it: no row at all and no NOTIFY. Returns the new deliveries' ids.
   */
  async insertEvent(
    event: { id: string; tenantId: string; type: string; data: object; occurredAt: Date },
    subscriptionId: string | null = null,
  ): Promise<string[]> {
    const rows = await this.txHost.tx.query<{ id: string }[]>(
      `WITH subs AS (
         SELECT id FROM webhook_subscription
         WHERE tenant_id = $2 AND enabled
           AND CASE WHEN $6::uuid IS NULL THEN ($3 = ANY(events) OR '*' = ANY(events))
                    ELSE id = $6::uuid END
       ), ev AS (
         INSERT INTO webhook_event (id, tenant_id, type, data, created_at)
         SELECT $1, $2, $3, $4::jsonb, $5 WHERE EXISTS (SELECT 1 FROM subs)
         RETURNING id
       ), ins AS (
         INSERT INTO webhook_delivery (subscription_id, event_id, next_attempt_at)
         SELECT subs.id, ev.id, now() FROM subs CROSS JOIN ev
         RETURNING id
       )
       -- Once per row, and PostgreSQL folds a transaction's identical NOTIFYs into one.
       SELECT id, pg_notify($7, '') FROM ins`,
      [
        event.id,
        event.tenantId,
        event.type,
        JSON.stringify(event.data),
        event.occurredAt,
        subscriptionId,
        DELIVERY_CHANNEL,
      ],
    );
    return rows.map((r) => r.id);
  }

  /** Wakes every worker, once the active transaction commits (never if it rolls back). */
  async notify(): Promise<void> {
    await this.txHost.tx.query(`SELECT pg_notify($1, '')`, [DELIVERY_CHANNEL]);
  }

  /**
   * Claims up to `limit` due deliveries of enabled subscriptions and leases them for
   * `leaseSeconds`, in one statement (its own short transaction). SKIP LOCKED: two processes
   * claiming at once take different rows, and neither waits for the other; a row whose lease
   * ran out (its process died mid-delivery) is due again.
   */
  async claim(limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    const result = await this.txHost.tx.query<[ClaimRow[], number]>(
      `WITH due AS (
         SELECT d.id FROM webhook_delivery d
         JOIN webhook_subscription s ON s.id = d.subscription_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= now()
           AND (d.locked_until IS NULL OR d.locked_until <= now()) AND s.enabled
         ORDER BY d.next_attempt_at
         LIMIT $1
         FOR UPDATE OF d SKIP LOCKED
       )
       -- Whole milliseconds: the lease is compared with what JavaScript's Date kept of it.
       UPDATE webhook_delivery d
       SET locked_until = date_trunc('milliseconds', now() + make_interval(secs => $2))
       FROM due, webhook_subscription s, webhook_event e
       WHERE d.id = due.id AND s.id = d.subscription_id AND e.id = d.event_id
       RETURNING d.id, d.attempts, d.locked_until, d.subscription_id, s.url, s.secret, s.previous_secret,
         s.previous_secret_expires_at, e.id AS event_id, e.type, e.data, e.created_at`,
      [limit, leaseSeconds],
    );
    const now = Date.now();
    return result[0].map((r) => ({
      id: r.id,
      attempt: r.attempts + 1,
      subscriptionId: r.subscription_id,
      url: r.url,
      secrets:
        r.previous_secret &&
        r.previous_secret_expires_at &&
        r.previous_secret_expires_at.getTime() > now
          ? [r.secret, r.previous_secret]
          : [r.secret],
      eventId: r.event_id,
      eventType: r.type,
      data: r.data,
      occurredAt: r.created_at,
      lockedUntil: r.locked_until,
    }));
  }

  /**
   * Records attempts and their deliveries' new states, releasing their leases, in one
   * statement (so atomic without a transaction of its own, and one round trip for a batch). A
   * delivery deleted meanwhile (its subscription was), or whose lease ran out and another
   * process claimed, records nothing. Returns the attempts recorded (their `attemptKey`s): of
   * two outcomes of one delivery in a batch, only the one under the current lease counts.
   */
  async recordAttempts(outcomes: readonly AttemptOutcome[]): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    const rows = await this.txHost.tx.query<{ id: string; locked_until: Date }[]>(
      `WITH o AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(
           delivery_id uuid, attempt int, at timestamptz, http_status int, error varchar,
           duration_ms int, next_attempt_at timestamptz, status varchar, locked_until timestamptz)
       ), d AS (
         UPDATE webhook_delivery w
         SET attempts = GREATEST(w.attempts, o.attempt), status = o.status,
           next_attempt_at = o.next_attempt_at, locked_until = NULL,
           delivered_at = CASE WHEN o.status = 'delivered' THEN o.at ELSE w.delivered_at END
         FROM o
         WHERE w.id = o.delivery_id AND w.locked_until = o.locked_until
         RETURNING w.id, o.locked_until
       ), ins AS (
         INSERT INTO webhook_attempt
           (delivery_id, attempt, at, http_status, error, duration_ms, next_attempt_at)
         SELECT o.delivery_id, o.attempt, o.at, o.http_status, o.error, o.duration_ms,
           o.next_attempt_at
         FROM o JOIN d ON d.id = o.delivery_id AND d.locked_until = o.locked_until
       )
       SELECT id, locked_until FROM d`,
      [
        JSON.stringify(
          outcomes.map((o) => ({
            delivery_id: o.deliveryId,
            attempt: o.attempt,
            at: o.at,
            http_status: o.httpStatus,
            error: o.error,
            duration_ms: o.durationMs,
            next_attempt_at: o.nextAttemptAt,
            status: o.status,
            locked_until: o.lockedUntil,
          })),
        ),
      ],
    );
    return new Set(rows.map((r) => attemptKey({ deliveryId: r.id, lockedUntil: r.locked_until })));
  }

  /** Gives a claimed delivery back unsent (the process is stopping): anyone may send it now. */
  async release(deliveryId: string, lockedUntil: Date): Promise<void> {
    await this.txHost.tx.query(
      `UPDATE webhook_delivery SET locked_until = NULL
       WHERE id = $1 AND status = 'pending' AND locked_until = $2`,
      [deliveryId, lockedUntil],
    );
  }

  /** When the next pending delivery of an enabled subscription falls due; null: none. */
  async nextDueAt(): Promise<Date | null> {
    const rows = await this.txHost.tx.query<{ due: Date | null }[]>(
      `SELECT min(GREATEST(d.next_attempt_at, COALESCE(d.locked_until, d.next_attempt_at))) AS due
       FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND s.enabled`,
    );
    return rows[0]?.due ?? null;
  }

  /** A page of a subscription's deliveries, newest first, each with its attempts. */
  async page(
    subscriptionId: string,
    status: DeliveryStatus | null,
    limit: number,
    offset: number,
    deliveryId: string | null = null,
  ): Promise<{ rows: ListedDelivery[]; total: number }> {
    const m = this.txHost.tx;
    const rows = await m.query<
      {
        id: string;
        event_id: string;
        type: string;
        status: DeliveryStatus;
        next_attempt_at: Date | null;
        created_at: Date;
        delivered_at: Date | null;
        total: string;
      }[]
    >(
      `SELECT d.id, d.event_id, e.type, d.status, d.next_attempt_at, d.created_at, d.delivered_at,
         count(*) OVER () AS total
       FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id
       WHERE d.subscription_id = $1 AND ($2::text IS NULL OR d.status = $2)
         AND ($5::uuid IS NULL OR d.id = $5::uuid)
       ORDER BY d.created_at DESC, d.id DESC
       LIMIT $3 OFFSET $4`,
      [subscriptionId, status, limit, offset, deliveryId],
    );
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) {
      const counted = await m.query<{ n: string }[]>(
        `SELECT count(*) AS n FROM webhook_delivery
         WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)`,
        [subscriptionId, status],
      );
      total = Number(counted[0]?.n ?? 0);
    }
    const attempts = await m.query<
      {
        delivery_id: string;
        attempt: number;
        at: Date;
        http_status: number | null;
        error: string | null;
        duration_ms: number;
        next_attempt_at: Date | null;
      }[]
    >(
      `SELECT delivery_id, attempt, at, http_status, error, duration_ms, next_attempt_at
       FROM webhook_attempt WHERE delivery_id = ANY($1::uuid[]) ORDER BY at, attempt`,
      [rows.map((r) => r.id)],
    );
    return {
      total,
      rows: rows.map((r) => ({
        id: r.id,
        eventId: r.event_id,
        eventType: r.type,
        status: r.status,
        nextAttemptAt: r.next_attempt_at,
        createdAt: r.created_at,
        deliveredAt: r.delivered_at,
        attempts: attempts
          .filter((a) => a.delivery_id === r.id)
          .map((a) => ({
            attempt: a.attempt,
            at: a.at,
            httpStatus: a.http_status,
            error: a.error,
            durationMs: a.duration_ms,
            nextAttemptAt: a.next_attempt_at,
          })),
      })),
    };
  }

  /** Makes a delivery due now, whatever its state; false when the subscription has none such. */
  async retryNow(subscriptionId: string, deliveryId: string): Promise<boolean> {
    const result = await this.txHost.tx.query<[unknown[], number]>(
      `UPDATE webhook_delivery SET status = 'pending', next_attempt_at = now(), locked_until = NULL
       WHERE id = $1 AND subscription_id = $2`,
      [deliveryId, subscriptionId],
    );
    return result[1] > 0;
  }

  /**
   * Deletes up to `limit` finished (delivered or failed) deliveries of events older than `days`
   * days, with their attempts, then up to `limit` such events left with no delivery. Returns
   * how many of each went. The status is judged on each delivery row as it is deleted, so one
   * made pending again meanwhile (the retry API) stays, and so does its event.
   */
  async pruneFinished(
    days: number,
    limit: number,
  ): Promise<{ deliveries: number; events: number }> {
    const m = this.txHost.tx;
    const [, deliveries] = await m.query<[unknown[], number]>(
      `DELETE FROM webhook_delivery WHERE id IN (
         SELECT d.id FROM webhook_event e JOIN webhook_delivery d ON d.event_id = e.id
         WHERE e.created_at < now() - make_interval(days => $1) AND d.status <> 'pending'
         LIMIT $2
         FOR UPDATE OF d SKIP LOCKED)
       AND status <> 'pending'`,
      [days, limit],
    );
    const [, events] = await m.query<[unknown[], number]>(
      `DELETE FROM webhook_event WHERE id IN (
         SELECT e.id FROM webhook_event e
         WHERE e.created_at < now() - make_interval(days => $1)
           AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id)
         ORDER BY e.created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)`,
      [days, limit],
    );
    return { deliveries, events };
  }

  /** For the metrics: pending deliveries, and the age of the oldest in seconds (0: none). */
  async queueStats(): Promise<{ depth: number; oldestSeconds: number }> {
    const rows = await this.txHost.tx.query<{ depth: string; oldest: number | null }[]>(
      `SELECT count(*) AS depth, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
       FROM webhook_delivery WHERE status = 'pending'`,
    );
    return { depth: Number(rows[0]?.depth ?? 0), oldestSeconds: rows[0]?.oldest ?? 0 };
  }
}
