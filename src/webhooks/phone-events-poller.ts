import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';
import { RegistrationService } from '../registration/registration.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import type { PhoneState } from './entities/phone-state.entity';
import { EventPublisher } from './event-publisher';
import { PhonesRepository } from './phones.repository';
import { SubscriptionsRepository } from './subscriptions.repository';

const PHONE_EVENTS = ['phone.registered', 'phone.unreachable', 'phone.unregistered'] as const;

/**
 * Turns the registration listing into phone.* events: every PHONE_EVENTS_POLL_SECONDS, and
 * only while an enabled webhook wants one (otherwise Asterisk is not asked). One event per
 * change of a user's state whatever the number of processes (PhonesRepository.transition);
 * while Asterisk does not answer, nothing is known and nothing is sent.
 */
@Injectable()
export class PhoneEventsPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PhoneEventsPoller.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly phones: PhonesRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly registrations: RegistrationService,
    private readonly events: EventPublisher,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly config: PortalConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.poll()
        .catch((err: unknown) => {
          // One line per outage, not one per poll.
          if (!this.failing) this.logger.warn(`Phone events paused: ${String(err)}`);
          this.failing = true;
        })
        .finally(() => {
          this.running = null;
        });
    }, this.config.webhooks.phonePollSeconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One look at the phones; the events of the changes it finds. */
  async poll(): Promise<void> {
    if (!(await this.subscriptions.anyEnabledFor(PHONE_EVENTS))) return;
    const snapshot = await this.registrations.snapshot();
    if (!snapshot.ok) return;
    const watched = await this.phones.watched(DEFAULT_TENANT_ID);
    const registrations = this.registrations.forList(watched, snapshot);
    const known = await this.phones.known();
    for (const [i, phone] of watched.entries()) {
      const registration = registrations[i];
      const state = registration?.state;
      if (!registration || state === undefined || state === 'unknown') continue;
      const previous = known.get(phone.userId) ?? null;
      if (state === (previous ?? 'unregistered')) continue;
      await this.changed(phone, state, registration.contacts[0]?.uri, previous, snapshot.checkedAt);
    }
    this.failing = false;
  }

  private changed(
    { userId, extension }: { userId: string; extension: number },
    state: PhoneState,
    uri: string | undefined,
    previous: PhoneState | null,
    seenAt: Date,
  ): Promise<void> {
    const contactUri = state === 'unregistered' ? null : (uri ?? null);
    return this.txHost.withTransaction(async () => {
      if (!(await this.phones.transition(userId, state, contactUri, previous, seenAt))) return;
      await this.events.publish(`phone.${state}`, { userId, extension, state, contactUri });
    });
  }
}
