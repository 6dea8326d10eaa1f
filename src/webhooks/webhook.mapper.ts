import type { WebhookSubscription } from './entities/webhook-subscription.entity';
import type { ListedDelivery } from './outbox.repository';
import type { CreatedWebhookDto, DeliveryDto, WebhookDto } from './dto/webhook-response.dto';

export function toWebhookDto(row: WebhookSubscription): WebhookDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toCreatedWebhookDto(row: WebhookSubscription, secret: string): CreatedWebhookDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    secret,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The audit's view of a subscription: everything but its secrets. */
export function toAuditedWebhook(row: {
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
}): Record<string, unknown> {
  return {
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
  };
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toDeliveryDto(row: ListedDelivery): DeliveryDto {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    nextAttemptAt: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: iso(row.deliveredAt),
    attempts: row.attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      httpStatus: a.httpStatus,
      error: a.error,
      durationMs: a.durationMs,
      nextAttemptAt: iso(a.nextAttemptAt),
    })),
  };
}
