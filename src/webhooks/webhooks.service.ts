import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit-writer';
import {
  badRequest,
  webhookDeliveryNotFound,
  webhookNotFound,
  webhookUrlRefused,
} from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { AllowedNetworks, parseNetworks } from './address-rules';
import {
  CreatedWebhookDto,
  DeliveryDto,
  DeliveryListDto,
  PingDto,
  RotatedSecretDto,
  WebhookDto,
  WebhookListDto,
} from './dto/webhook-response.dto';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  ListWebhooksQueryDto,
  UpdateWebhookDto,
} from './dto/webhook-request.dto';
import { EventPublisher } from './event-publisher';
import { OutboxRepository } from './outbox.repository';
import { SubscriptionChanges, SubscriptionsRepository } from './subscriptions.repository';
import { resolveAllowed, urlShapeRefusal } from './url-rules';
import {
  toAuditedWebhook,
  toCreatedWebhookDto,
  toDeliveryDto,
  toWebhookDto,
} from './webhook.mapper';
import { generateWebhookSecret } from './webhook-signer';

/** How long the previous secret keeps signing after a rotation. */
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/** Webhook subscriptions: their URLs checked, their secrets shown once, every change audited. */
@Injectable()
export class WebhooksService {
  private readonly allowed: AllowedNetworks;

  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditWriter,
    private readonly events: EventPublisher,
    config: PortalConfig,
  ) {
    this.allowed = parseNetworks(config.webhooks.allowedNetworks);
  }

  async create(dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    await this.checkUrl(dto.url);
    const secret = generateWebhookSecret();
    return this.txHost.withTransaction(async () => {
      const row = await this.subscriptions.insert({
        tenantId: DEFAULT_TENANT_ID,
        url: dto.url,
        events: dto.events,
        description: dto.description ?? null,
        secret,
      });
      await this.audit.record({
        action: 'webhook.create',
        target: { type: 'webhook', id: row.id },
        changes: { before: null, after: toAuditedWebhook(row) },
      });
      return toCreatedWebhookDto(row, secret);
    });
  }

  async list(query: ListWebhooksQueryDto): Promise<WebhookListDto> {
    const { rows, total } = await this.subscriptions.page(
      DEFAULT_TENANT_ID,
      query.limit,
      query.offset,
    );
    return { items: rows.map(toWebhookDto), total };
  }

  async get(id: string): Promise<WebhookDto> {
    const row = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID);
    if (!row) throw webhookNotFound(id);
    return toWebhookDto(row);
  }

  async update(id: string, dto: UpdateWebhookDto): Promise<WebhookDto> {
    const changes: SubscriptionChanges = {};
    if (dto.url !== undefined) changes.url = dto.url;
    if (dto.events !== undefined) changes.events = dto.events;
    if (dto.description !== undefined) changes.description = dto.description;
    if (dto.enabled !== undefined) changes.enabled = dto.enabled;
    if (Object.keys(changes).length === 0) {
      throw badRequest('Nothing to change: send url, events, description or enabled');
    }
    if (changes.url !== undefined) await this.checkUrl(changes.url);
    return this.txHost.withTransaction(async () => {
      const before = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID, true);
      if (!before) throw webhookNotFound(id);
      const after = await this.subscriptions.update(id, changes);
      const was = toAuditedWebhook(before);
      const now = toAuditedWebhook(after);
      const changed = Object.keys(now).filter(
        (k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]),
      );
      if (changed.length > 0) {
        await this.audit.record({
          action: 'webhook.update',
          target: { type: 'webhook', id },
          changes: {
            before: Object.fromEntries(changed.map((k) => [k, was[k]])),
            after: Object.fromEntries(changed.map((k) => [k, now[k]])),
          },
        });
      }
      // Enabled again: its pending deliveries are due, so the workers are woken at commit.
      if (after.enabled && !before.enabled) await this.outbox.notify();
      return toWebhookDto(after);
    });
  }

  /** Its deliveries go with it, pending ones included: nothing more is sent to it. */
  remove(id: string): Promise<void> {
    return this.txHost.withTransaction(async () => {
      const before = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID, true);
      if (!before) throw webhookNotFound(id);
      await this.subscriptions.delete(id);
      await this.audit.record({
        action: 'webhook.delete',
        target: { type: 'webhook', id },
        changes: { before: toAuditedWebhook(before), after: null },
      });
    });
  }

  rotateSecret(id: string): Promise<RotatedSecretDto> {
    const secret = generateWebhookSecret();
    const until = new Date(Date.now() + ROTATION_OVERLAP_MS);
    return this.txHost.withTransaction(async () => {
      const before = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID, true);
      if (!before) throw webhookNotFound(id);
      await this.subscriptions.rotate(id, secret, until);
      // Never the secret: only that it changed, and until when the old one signs.
      await this.audit.record({
        action: 'webhook.rotate_secret',
        target: { type: 'webhook', id },
        changes: { before: null, after: { previousSecretExpiresAt: until.toISOString() } },
      });
      return { secret, previousSecretExpiresAt: until.toISOString() };
    });
  }

  async deliveries(id: string, query: ListDeliveriesQueryDto): Promise<DeliveryListDto> {
    await this.get(id);
    const { rows, total } = await this.outbox.page(
      id,
      query.status ?? null,
      query.limit,
      query.offset,
    );
    return { items: rows.map(toDeliveryDto), total };
  }

  /** Due again now, whatever its state; the attempts so far stay in its log. */
  retry(id: string, deliveryId: string): Promise<DeliveryDto> {
    return this.txHost.withTransaction(async () => {
      const sub = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID);
      if (!sub) throw webhookNotFound(id);
      if (!(await this.outbox.retryNow(id, deliveryId))) throw webhookDeliveryNotFound(deliveryId);
      await this.outbox.notify();
      const { rows } = await this.outbox.page(id, null, 1, 0, deliveryId);
      const row = rows[0];
      if (!row) throw webhookDeliveryNotFound(deliveryId);
      return toDeliveryDto(row);
    });
  }

  /** A webhook.ping event to this subscription only, whatever events it asked for. */
  ping(id: string): Promise<PingDto> {
    return this.txHost.withTransaction(async () => {
      const sub = await this.subscriptions.findOne(id, DEFAULT_TENANT_ID);
      if (!sub) throw webhookNotFound(id);
      if (!sub.enabled) throw badRequest('The webhook is disabled: enable it (PATCH) to ping it');
      const { eventId, deliveryIds } = await this.events.publish(
        'webhook.ping',
        { webhookId: id },
        { subscriptionId: id },
      );
      const deliveryId = deliveryIds[0];
      if (!deliveryId) throw webhookNotFound(id);
      return { eventId, deliveryId };
    });
  }

  /** A 400 naming the rule, before any connection: by the URL's text, then its addresses. */
  private async checkUrl(url: string): Promise<void> {
    const shape = urlShapeRefusal(url);
    if (shape) throw webhookUrlRefused(shape);
    const resolved = await resolveAllowed(new URL(url), this.allowed);
    if ('refused' in resolved) throw webhookUrlRefused(resolved.refused);
  }
}
