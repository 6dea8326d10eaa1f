import { Client } from 'pg';
import { AsteriskSandbox } from '../../support/asterisk-sandbox';
import { loadSummary, runMixedLoad, verifyAfterLoad } from './mixed-load';
import { type PortalProcess, rssMb } from '../../support/portal-process';
import { openRig, type Rig } from './rig';
import { seedFromEnv } from './random';

const CLIENTS = 32;

/**
 * 32 clients create, list, rotate, delete and apply against the portal process for the given
 * time; then every invariant is checked. The e2e suite and the soak differ only in duration.
 */
export function mixedLoadSuite(title: string, label: string, durationMs: number): void {
  describe(title, () => {
    let rig: Rig | undefined;
    let box: AsteriskSandbox;
    let pg: Client;
    let portal: PortalProcess;

    beforeAll(async () => {
      rig = await openRig();
      ({ box, pg } = rig);
      portal = await rig.launch();
    }, 60_000);

    afterAll(async () => {
      await rig?.close();
    }, 60_000);

    it(
      `${CLIENTS} clients for ${durationMs / 1000} s: no server error, nothing lost, files equal a dry run`,
      async () => {
        const rssBefore = rssMb(portal.pid);
        const result = await runMixedLoad({
          baseUrl: portal.baseUrl,
          clients: CLIENTS,
          durationMs,
          seed: seedFromEnv(),
        });
        const rssAfter = rssMb(portal.pid);
        const verification = await verifyAfterLoad(result, pg, box, portal.baseUrl);
        process.stdout.write(
          loadSummary(label, result, verification, [
            `portal RSS: ${rssBefore} MB before, ${rssAfter} MB after the load`,
          ]),
        );

        expect(portal.isRunning()).toBe(true);
        expect(result.replies.length).toBeGreaterThan(CLIENTS);
        expect(verification.applies.total).toBeGreaterThan(0);
        expect(verification.checks.filter((c) => !c.ok)).toEqual([]);
      },
      durationMs + 120_000,
    );
  });
}
