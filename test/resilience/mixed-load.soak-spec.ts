import { Client } from 'pg';
import { AsteriskSandbox } from '../support/asterisk-sandbox';
import globalSetup from '../support/global-setup';
import globalTeardown from '../support/global-teardown';
import { createTestDatabase } from '../support/test-database';
import { loadSummary, runMixedLoad, verifyAfterLoad } from './support/mixed-load';
import {
  buildPortal,
  killAllPortals,
  launchPortal,
  Portal,
  PortalBuild,
  rssMb,
} from './support/portal-launcher';
import { seedFromEnv } from './support/random';

const CLIENTS = 32;
const DURATION_MS = (Number(process.env.SOAK_SECONDS) || 60) * 1000;

describe('soak: mixed load against the portal process', () => {
  let ownsTemplate = false;
  let build: PortalBuild;
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let pg: Client;
  let portal: Portal;

  beforeAll(async () => {
    // The soak project has no globalSetup of its own: prepare the migrated template here.
    if (!process.env.PORTAL_TEST_TEMPLATE_DB) {
      await globalSetup();
      ownsTemplate = true;
    }
    build = buildPortal();
    box = new AsteriskSandbox();
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    portal = await launchPortal(build, { DATABASE_URL: db.url, ...box.env() });
    await portal.waitHealthy();
  }, 60_000);

  afterAll(async () => {
    await killAllPortals();
    await pg?.end();
    await db?.drop();
    box?.remove();
    build?.remove();
    if (ownsTemplate) await globalTeardown();
  }, 60_000);

  it(
    `${CLIENTS} clients for ${DURATION_MS / 1000} s: no server error, nothing lost, files equal a dry run`,
    async () => {
      const rssBefore = rssMb(portal.pid);
      const result = await runMixedLoad({
        baseUrl: portal.baseUrl,
        clients: CLIENTS,
        durationMs: DURATION_MS,
        seed: seedFromEnv(),
      });
      const rssAfter = rssMb(portal.pid);
      const verification = await verifyAfterLoad(result, pg, box, portal.baseUrl);
      process.stdout.write(
        loadSummary('soak: mixed load', result, verification, [
          `portal RSS: ${rssBefore} MB before, ${rssAfter} MB after the load`,
        ]),
      );

      expect(portal.isRunning()).toBe(true);
      expect(verification.applies.total).toBeGreaterThan(0);
      expect(verification.checks.filter((c) => !c.ok)).toEqual([]);
    },
    DURATION_MS + 120_000,
  );
});
