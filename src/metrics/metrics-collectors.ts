import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DatabaseRepository } from '../database/database.repository';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { collectPhoneStates, PHONE_STATES_SOURCE } from './phone-states-source';
import type { PhoneStatesSource } from './phone-states-source';
import { PortalMetrics } from './portal-metrics';

/** The gauges computed at scrape time from the database and the phones' states. */
@Injectable()
export class MetricsCollectors implements OnModuleInit {
  constructor(
    private readonly metrics: PortalMetrics,
    private readonly db: DatabaseRepository,
    private readonly users: UsersRepository,
    @Inject(PHONE_STATES_SOURCE) private readonly phones: PhoneStatesSource,
  ) {}

  onModuleInit(): void {
    this.metrics.scrapedGauge(
      { name: 'portal_database_up', help: '1 when the database answered at this scrape, 0 if not' },
      async (g) => g.set((await this.db.ping()) ? 1 : 0),
    );
    this.metrics.scrapedGauge({ name: 'portal_users', help: 'Users in the database' }, async (g) =>
      g.set(await this.users.count(DEFAULT_TENANT_ID)),
    );
    this.metrics.scrapedGauge(
      {
        name: 'portal_phones',
        help: 'Phones by registration state',
        labelNames: ['state'] as const,
      },
      (g) => collectPhoneStates(this.phones, g),
    );
  }
}
