import { Client } from 'pg';
import { AsteriskSandbox } from '../support/asterisk-sandbox';
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
const DURATION_MS = 10_000;

describe('resilience: mixed load against the portal process (10 s)', () => {
  let build: PortalBuild;
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let pg: Client;
  let portal: Portal;

  beforeAll(async () => {
    build = buildPortal();
    box = new AsteriskSandbox();
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    portal = await launchPortal(build, { DATABASE_URL: db.url, ...box.env() });
    await portal.waitHealthy();
  }, 30_000);

  afterAll(async () => {
    await killAllPortals();
    await pg?.end();
    await db?.drop();
    box?.remove();
    build?.remove();
  }, 30_000);

  it(`${CLIENTS} clients create, list, rotate, delete and apply; every invariant holds`, async () => {
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
      loadSummary('mixed load, e2e', result, verification, [
        `portal RSS: ${rssBefore} MB before, ${rssAfter} MB after the load`,
      ]),
    );

    expect(portal.isRunning()).toBe(true);
    expect(result.replies.length).toBeGreaterThan(CLIENTS);
    expect(verification.applies.total).toBeGreaterThan(0);
    expect(verification.checks.filter((c) => !c.ok)).toEqual([]);
  }, 60_000);
});
