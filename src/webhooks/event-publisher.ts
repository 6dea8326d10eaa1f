import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { OutboxRepository } from './outbox.repository';
import type { EventDataByType, EventType } from './webhook-event-types';

/**
 * Publishes an event in the change's own transaction (the active one), as AuditWriter
 * records its audit row: the event and its deliveries commit with the change, and a change
 * that rolls back sends nothing. The NOTIFY that wakes the workers (sent with the rows) is
 * delivered by PostgreSQL only at commit.
 */
@Injectable()
export class EventPublisher {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  /** Returns the event's id and its deliveries' ids (none when no subscription wants it). */
  async publish<T extends EventType>(
    type: T,
    data: EventDataByType[T],
    only: { subscriptionId: string } | null = null,
  ): Promise<{ eventId: string; deliveryIds: string[] }> {
    if (!this.txHost.isTransactionActive()) {
      // Outside a transaction the event could go out for a change that fails, or the reverse.
      throw new Error(`The event ${type} must be published in the change's transaction`);
    }
    const eventId = randomUUID();
    const deliveryIds = await this.outbox.insertEvent(
      { id: eventId, tenantId: DEFAULT_TENANT_ID, type, data, occurredAt: new Date() },
      only?.subscriptionId ?? null,
    );
    return { eventId, deliveryIds };
  }
}
