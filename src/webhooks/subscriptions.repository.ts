import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { WebhookSubscription } from './entities/webhook-subscription.entity';

export interface SubscriptionChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/** Every query of the webhook_subscription table. */
@Injectable()
export class SubscriptionsRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  async insert(row: {
    tenantId: string;
    url: string;
    events: string[];
    description: string | null;
    secret: string;
  }): Promise<WebhookSubscription> {
    const m = this.txHost.tx;
    return m.save(
      m.create(WebhookSubscription, {
        ...row,
        enabled: true,
        disabledReason: null,
        previousSecret: null,
        previousSecretExpiresAt: null,
      }),
    );
  }

  async page(
    tenantId: string,
    limit: number,
    offset: number,
  ): Promise<{ rows: WebhookSubscription[]; total: number }> {
    const [rows, total] = await this.txHost.tx.getRepository(WebhookSubscription).findAndCount({
      where: { tenantId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return { rows, total };
  }

  findOne(id: string, tenantId: string, lock = false): Promise<WebhookSubscription | null> {
    return this.txHost.tx.findOne(WebhookSubscription, {
      where: { id, tenantId },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  }

  /** Applies `changes` to a locked row; re-enabling clears the reason it was disabled. */
  async update(id: string, changes: SubscriptionChanges): Promise<WebhookSubscription> {
    const m = this.txHost.tx;
    await m.update(
      WebhookSubscription,
      { id },
      {
        ...changes,
        ...(changes.enabled !== undefined ? { disabledReason: null } : {}),
        updatedAt: () => 'now()',
      },
    );
    return m.findOneOrFail(WebhookSubscription, { where: { id } });
  }

  /** Its pending deliveries go with it (ON DELETE CASCADE): nothing more is sent to it. */
  async delete(id: string): Promise<void> {
    await this.txHost.tx.delete(WebhookSubscription, { id });
  }

  /** The new secret signs from now on; the current one keeps signing until `until`. */
  async rotate(id: string, secret: string, until: Date): Promise<void> {
    await this.txHost.tx.query(
      `UPDATE webhook_subscription
       SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2, updated_at = now()
       WHERE id = $1`,
      [id, secret, until],
    );
  }

  /** The receiver said 410 Gone: nothing more is sent until someone enables it again. */
  /** Disables an enabled subscription; false when it was not enabled (already done). */
  async disable(id: string, reason: string): Promise<boolean> {
    // An UPDATE answers [rows, rowCount]: the count says whether this call disabled it.
    const result = await this.txHost.tx.query<[unknown[], number]>(
      `UPDATE webhook_subscription SET enabled = false, disabled_reason = $2, updated_at = now()
       WHERE id = $1 AND enabled`,
      [id, reason],
    );
    return result[1] > 0;
  }

  /** Whether an enabled subscription wants one of `types` (or every event). */
  async anyEnabledFor(types: readonly string[]): Promise<boolean> {
    const rows = await this.txHost.tx.query<{ found: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM webhook_subscription
         WHERE enabled AND (events && $1::text[] OR '*' = ANY(events))) AS found`,
      [types],
    );
    return rows[0]?.found ?? false;
  }
}
