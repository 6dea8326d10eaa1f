import { Client } from 'pg';
import { AsteriskSandbox } from '../../support/asterisk-sandbox';
import { createTestDatabase } from '../../support/test-database';
import { buildPortal, killAllPortals, type PortalBuild } from './portal-launcher';

/** What each resilience suite starts from, before it launches its portal its own way. */
export interface Rig {
  build: PortalBuild;
  box: AsteriskSandbox;
  db: { url: string; drop: () => Promise<void> };
  /** A client of the suite's database, for looking behind the portal's back. */
  pg: Client;
  /** Kills every portal the suite launched, then removes all of the above. */
  close(): Promise<void>;
}

/** The transpiled portal, a sandbox, a fresh database and a client of it. */
export async function openRig(): Promise<Rig> {
  const undo: (() => unknown)[] = [];
  const close = async (): Promise<void> => {
    await killAllPortals();
    for (const step of undo.reverse()) await step();
  };
  try {
    const build = buildPortal();
    undo.push(() => build.remove());
    const box = new AsteriskSandbox();
    undo.push(() => box.remove());
    const db = await createTestDatabase();
    undo.push(() => db.drop());
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    undo.push(() => pg.end());
    return { build, box, db, pg, close };
  } catch (err) {
    await close();
    throw err;
  }
}
