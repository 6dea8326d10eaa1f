import { Client } from 'pg';
import { AsteriskSandbox } from '../../support/asterisk-sandbox';
import {
  buildPortal,
  killAllChildren,
  type PortalProcess,
  startPortal,
} from '../../support/portal-process';
import { createTestDatabase } from '../../support/test-database';
import { TOKEN } from './http-client';

/** The last this much of a portal's output is kept: the mixed load logs for minutes. */
const OUTPUT_KEPT = 256 * 1024;
/** A start or restart that takes longer fails the suite. */
const HEALTHY_WITHIN_MS = 20_000;

/** What each resilience suite starts from. */
export interface Rig {
  box: AsteriskSandbox;
  db: { url: string; drop: () => Promise<void> };
  /** A client of the suite's database, for looking behind the portal's back. */
  pg: Client;
  /**
   * Starts the portal built for this suite on the sandbox and the database (PORTAL_API_TOKEN
   * TOKEN, LOG_LEVEL=warn, `vars` on top) and resolves once it is healthy.
   */
  launch(vars?: Record<string, string>): Promise<PortalProcess>;
  /** Kills every portal the suite launched, then removes all of the above. */
  close(): Promise<void>;
}

/** The portal compiled once, a sandbox, a fresh database and a client of it. */
export async function openRig(): Promise<Rig> {
  const undo: (() => unknown)[] = [];
  const close = async (): Promise<void> => {
    await killAllChildren();
    for (const step of undo.reverse()) await step();
  };
  try {
    const build = await buildPortal();
    undo.push(() => build.remove());
    const box = new AsteriskSandbox();
    undo.push(() => box.remove());
    const db = await createTestDatabase();
    undo.push(() => db.drop());
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    undo.push(() => pg.end());
    const launch = async (vars: Record<string, string> = {}): Promise<PortalProcess> => {
      const portal = await startPortal(
        build,
        {
          PORTAL_API_TOKEN: TOKEN,
          LOG_LEVEL: 'warn',
          DATABASE_URL: db.url,
          ...box.env(),
          ...vars,
        },
        { keepOutput: OUTPUT_KEPT },
      );
      await portal.waitUntilHealthy(HEALTHY_WITHIN_MS);
      return portal;
    };
    return { box, db, pg, launch, close };
  } catch (err) {
    await close();
    throw err;
  }
}
