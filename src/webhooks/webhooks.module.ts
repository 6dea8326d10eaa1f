import { Global, Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { RegistrationModule } from '../registration/registration.module';
import { DeliveryWorker } from './delivery-worker';
import { EventPublisher } from './event-publisher';
import { OutboxPruner } from './outbox-pruner';
import { OutboxRepository } from './outbox.repository';
import { PhoneEventsPoller } from './phone-events-poller';
import { PhonesRepository } from './phones.repository';
import { SubscriptionsRepository } from './subscriptions.repository';
import { WebhookMetrics } from './webhook-metrics';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Webhooks: the subscriptions API, EventPublisher (every module that changes something
 * publishes its events in its transaction, as it writes its audit row), the delivery
 * worker and the outbox's pruner, and the poller that turns phones' registrations into
 * phone.* events.
 */
@Global()
@Module({
  imports: [DatabaseModule, RegistrationModule],
  controllers: [WebhooksController],
  providers: [
    SubscriptionsRepository,
    OutboxRepository,
    EventPublisher,
    WebhooksService,
    WebhookMetrics,
    DeliveryWorker,
    OutboxPruner,
    PhonesRepository,
    PhoneEventsPoller,
  ],
  exports: [EventPublisher],
})
export class WebhooksModule {}
