import { Injectable, OnModuleInit } from '@nestjs/common';
import { DatabaseRepository } from '../database/database.repository';
import { RegistrationService } from '../registration/registration.service';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { PortalMetrics } from './portal-metrics';

/**
 * Sets one `portal_phones` sample per state from `read` (e.g. `{registered: 12, unregistered:
 * 3}`); states missing from this scrape disappear from the gauge. null: nothing is known, and
 * the gauge reports no sample; a rejection leaves the metric out of the scrape.
 */
export async function collectPhoneStates(
  read: () => Promise<Record<string, number> | null>,
  gauge: { reset(): void; set(labels: { state: string }, value: number): void },
): Promise<void> {
  const counts = await read();
  gauge.reset();
  for (const [state, n] of Object.entries(counts ?? {})) gauge.set({ state }, n);
}

/** The gauges computed at scrape time from the database and the phones' states. */
@Injectable()
export class MetricsCollectors implements OnModuleInit {
  constructor(
    private readonly metrics: PortalMetrics,
    private readonly db: DatabaseRepository,
    private readonly users: UsersRepository,
    private readonly registrations: RegistrationService,
  ) {}

  onModuleInit(): void {
    this.metrics.scrapedGauge(
      { name: 'portal_database_up', help: '1 when the database answered at this scrape, 0 if not' },
      async (g) => g.set((await this.db.ping()) ? 1 : 0),
    );
    this.metrics.scrapedGauge({ name: 'portal_users', help: 'Users in the database' }, async (g) =>
      g.set(await this.users.count(DEFAULT_TENANT_ID)),
    );
    // The numbers come from the database (down: the read rejects, and the gauge has no
    // sample); the states from a listing reused for up to 30 s (COUNTS_MAX_AGE_MS).
    this.metrics.scrapedGauge(
      {
        name: 'portal_phones',
        help: 'Phones by registration state',
        labelNames: ['state'] as const,
      },
      (g) =>
        collectPhoneStates(
          async () =>
            this.registrations.countsByState(await this.users.extensionNumbers(DEFAULT_TENANT_ID)),
          g,
        ),
    );
  }
}
