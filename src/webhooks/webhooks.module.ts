import { Global, Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { DeliveryWorker } from './delivery-worker';
import { EventPublisher } from './event-publisher';
import { OutboxRepository } from './outbox.repository';
import { SubscriptionsRepository } from './subscriptions.repository';
import { WebhookMetrics } from './webhook-metrics';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Webhooks: the subscriptions API, EventPublisher (every module that changes something
 * publishes its events in its transaction, as it writes its audit row) and the delivery
 * worker.
 */
@Global()
@Module({
  imports: [DatabaseModule],
  controllers: [WebhooksController],
  providers: [
    SubscriptionsRepository,
    OutboxRepository,
    EventPublisher,
    WebhooksService,
    WebhookMetrics,
    DeliveryWorker,
  ],
  exports: [EventPublisher],
})
export class WebhooksModule {}
