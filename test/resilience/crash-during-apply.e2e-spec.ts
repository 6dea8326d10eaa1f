import { Client } from 'pg';
import { AsteriskSandbox } from '../support/asterisk-sandbox';
import { freePort, type PortalProcess } from '../support/portal-process';
import { openRig, type Rig } from './support/rig';
import {
  hashesOf,
  StateHashes,
  classifyPair,
  headerProblems,
  readFiles,
  readLastGood,
  tempFiles,
} from './support/generated-files';
import { call, describeReply } from './support/http-client';
import { armKill, PHASE_TRIGGERS, Trigger } from './support/kill-triggers';
import { Random, seedFromEnv } from './support/random';

const KILLS = 20;

interface Cycle {
  n: number;
  trigger: string;
  killedAfterMs: number;
  /** State found on disk and in the audit log between the kill and the restart. */
  audit: string;
  files: string;
  lastGood: string;
  temps: number;
  phase: string;
  /** Which state the pair is in once the restarted portal is healthy. */
  recovered: string;
  restartMs: number;
  nextApply: string;
}

/** `mixed (endpoints: new, routing: old)` as `MIXED e:new r:old`, to keep the table narrow. */
function short(state: string): string {
  const m = /^mixed \(endpoints: (.*), routing: (.*)\)$/.exec(state);
  return m ? `MIXED e:${m[1]} r:${m[2]}` : state;
}

/** Where the kill landed, judged from what it left behind. */
function phaseOf(c: Pick<Cycle, 'audit' | 'files' | 'lastGood' | 'temps'>): string {
  if (c.audit === 'none') return 'before the audit row (HTTP, lock)';
  if (c.audit === 'success') return 'after the apply completed';
  if (c.lastGood.startsWith('mixed')) return 'between the two last-good saves';
  if (c.lastGood === 'new') return 'last-good saved, audit row not finished';
  if (c.files.startsWith('mixed')) return 'between the two renames';
  if (c.files === 'new') return 'both renamed: reload, verify or a last-good temp';
  return c.temps > 0 ? 'writing a temp file' : 'audit row written, nothing renamed yet';
}

describe('resilience: SIGKILL during apply, restart, recover', () => {
  let rig: Rig | undefined;
  let box: AsteriskSandbox;
  let pg: Client;
  let portal: PortalProcess;
  /** The same port for every restart. */
  let env: Record<string, string>;

  beforeAll(async () => {
    rig = await openRig();
    ({ box, pg } = rig);
    env = { PORT: String(await freePort()) };
    portal = await rig.launch(env);
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
  }, 30_000);

  const auditRows = async (): Promise<{ id: string; outcome: string; summary: string }[]> =>
    (await pg.query('SELECT id, outcome, summary FROM apply_audit_log ORDER BY started_at')).rows;

  const ok = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const r = await call(portal.baseUrl, method, path, body);
    if (r.status >= 300) throw new Error(`set-up request failed: ${describeReply(r)}`);
    return r.body;
  };

  it(`${KILLS} kills at every phase of an apply: recovery always leaves one complete, consistent pair`, async () => {
    const seed = seedFromEnv();
    const rng = new Random(seed);
    for (let k = 0; k < 6; k++) {
      await ok('POST', '/users', { name: `Seed User ${k}`, email: `seed-${k}@crash.example.com` });
    }
    // The slowest reload a cycle uses, to spread random kills over a whole apply.
    box.setFaults({
      delayMs: {
        'module reload res_pjsip.so': 300,
        'dialplan reload': 80,
        'pjsip show endpoints': 120,
      },
    });
    const baseline = await call(portal.baseUrl, 'POST', '/apply');
    expect(baseline.status).toBe(200);
    const applyMs = baseline.ms;
    box.clearFaults();

    const schedule: Trigger[] = rng.shuffle([
      ...PHASE_TRIGGERS,
      ...Array<Trigger>(KILLS - PHASE_TRIGGERS.length).fill('random'),
    ]);
    const cycles: Cycle[] = [];
    const violations: string[] = [];
    const leftovers = new Map<string, number>();
    const t0 = Date.now();

    for (const [i, trigger] of schedule.entries()) {
      const n = i + 1;
      const fail = (what: string): void => {
        violations.push(`kill ${n} (${trigger}): ${what}`);
      };

      // Change users so both files really change: a new extension in, an old one out.
      const { items } = (await ok('GET', '/users?limit=1000')) as {
        items: { id: string; extension: number }[];
      };
      await ok('POST', '/users', { name: `Crash ${n}`, email: `crash-${n}@crash.example.com` });
      const victim = rng.pick(items);
      await ok('DELETE', `/users/${victim.id}`);
      const rotated = rng.pick(items.filter((u) => u.id !== victim.id));
      await ok('POST', `/users/${rotated.id}/sip-password`);
      const dry = (await ok('POST', '/apply?dryRun=true')) as {
        files: { changed: boolean; sha256: string }[];
      };
      if (!dry.files.every((f) => f.changed))
        fail('precondition: the dry run does not change both files');
      const before = hashesOf(readFiles(box));
      if (!before) throw new Error('the files of the previous good apply are missing');
      const states: Record<string, StateHashes> = {
        old: before,
        new: { endpoints: dry.files[0].sha256, routing: dry.files[1].sha256 },
      };
      const known = new Set((await auditRows()).map((r) => r.id));

      const reloadMs = rng.int(100, 300);
      const dialplanMs = rng.int(0, 80);
      box.setFaults({
        delayMs: {
          'module reload res_pjsip.so': reloadMs,
          'dialplan reload': dialplanMs,
          'pjsip show endpoints': rng.int(0, 120),
        },
      });
      const victimPortal = portal;
      const started = Date.now();
      const applying = call(victimPortal.baseUrl, 'POST', '/apply', undefined, 30_000);
      const armed = armKill(box, trigger, () => victimPortal.kill(), {
        randomDelayMs: rng.int(0, Math.round(applyMs * 0.9)),
        verifyDelayMs: rng.int(0, dialplanMs + 60),
        auditRunning: async () =>
          (await pg.query("SELECT 1 FROM apply_audit_log WHERE outcome = 'running' LIMIT 1"))
            .rowCount === 1,
        responded: applying,
      });
      const what = await armed.fired;
      const killedAfterMs = Date.now() - started;
      await applying;
      await victimPortal.exited;

      const killedRows = (await auditRows()).filter((r) => !known.has(r.id));
      const seen = {
        audit: killedRows.map((r) => r.outcome).join(',') || 'none',
        files: classifyPair(readFiles(box), states),
        lastGood: classifyPair(readLastGood(box), states),
        // Only temp files this kill left, not an earlier leftover already reported.
        temps: tempFiles(box).filter((t) => !leftovers.has(t)).length,
      };

      box.clearFaults();
      const t1 = Date.now();
      portal = await rig!.launch(env);
      const restartMs = Date.now() - t1;

      const files = readFiles(box);
      for (const p of headerProblems('after restart:', files)) fail(p);
      const recovered = classifyPair(files, states);
      if (recovered !== 'old' && recovered !== 'new') {
        fail(`after restart the pair is ${recovered}: endpoints and routing from different states`);
      }
      const lastGood = classifyPair(readLastGood(box), states);
      if (lastGood !== 'old' && lastGood !== 'new') {
        fail(`after restart the last-good pair is ${lastGood}`);
      }
      // A leftover is reported once; the closing figures say how long it then survived.
      const temps = tempFiles(box).filter((t) => !leftovers.has(t));
      if (temps.length) fail(`temp files survived the restart: ${temps.join(', ')}`);
      for (const t of temps) leftovers.set(t, n);
      const rows = await auditRows();
      const running = rows.filter((r) => r.outcome === 'running');
      if (running.length) fail(`${running.length} audit row(s) still running after the restart`);
      for (const k of killedRows.filter((r) => r.outcome === 'running')) {
        const now = rows.find((r) => r.id === k.id);
        if (now?.outcome !== 'failed' || !/interrupted/.test(now.summary)) {
          fail(`the interrupted apply's row is ${now?.outcome ?? 'gone'}: ${now?.summary ?? ''}`);
        }
      }

      const next = await call(portal.baseUrl, 'POST', '/apply');
      const body = next.body as { outcome?: string };
      if (next.status !== 200 || body.outcome !== 'success') {
        fail(`the next apply did not succeed: ${describeReply(next)}`);
      } else {
        const after = readFiles(box);
        for (const p of headerProblems('after the next apply:', after)) fail(p);
        if (classifyPair(after, states) !== 'new')
          fail('the next apply did not write the new pair');
        if (classifyPair(readLastGood(box), states) !== 'new') {
          fail('the next apply did not record the new pair as last good');
        }
      }
      cycles.push({
        n,
        trigger: what,
        killedAfterMs,
        ...seen,
        phase: phaseOf(seen),
        recovered,
        restartMs,
        nextApply: `${next.status} ${body.outcome ?? ''} ${next.ms} ms`,
      });
    }

    const phases = new Map<string, number>();
    for (const c of cycles) phases.set(c.phase, (phases.get(c.phase) ?? 0) + 1);
    const pad = (s: string | number, w: number): string => String(s).padEnd(w);
    process.stdout.write(
      [
        '',
        '===== crash during apply =====',
        `${cycles.length} SIGKILLs in ${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${seed}, uninterrupted apply ${applyMs} ms`,
        '',
        "Between kill and restart: the killed apply's audit row, which state each pair is in",
        '(old = last applied, new = the interrupted apply), temp files. Then the pair the',
        'restarted portal left, its start-up time and the next apply.',
        '',
        `${pad('#', 4)}${pad('trigger', 32)}${pad('kill ms', 9)}${pad('audit', 9)}${pad('files', 19)}${pad('last-good', 19)}${pad('tmp', 5)}${pad('restarted', 19)}${pad('start ms', 10)}next apply`,
        ...cycles.map(
          (c) =>
            `${pad(c.n, 4)}${pad(c.trigger, 32)}${pad(c.killedAfterMs, 9)}${pad(c.audit, 9)}${pad(short(c.files), 19)}${pad(short(c.lastGood), 19)}${pad(c.temps, 5)}${pad(short(c.recovered), 19)}${pad(c.restartMs, 10)}${c.nextApply}`,
        ),
        '',
        'phases hit:',
        ...[...phases.entries()].map(([p, count]) => `  ${pad(count, 3)}${p}`),
        `invariants: 6 per kill (headers, pair, last-good pair, no temp file, no running row, next apply); ${violations.length} violation(s)`,
        ...violations.map((v) => `  FAIL ${v}`),
        ...[...leftovers.entries()]
          .filter(([t]) => tempFiles(box).includes(t))
          .map(
            ([t, since]) =>
              `  (${t}, left by kill ${since}, was still there after ${cycles.length - since} more restarts and applies)`,
          ),
        '==============================',
        '',
      ].join('\n'),
    );

    expect(violations).toEqual([]);
  }, 120_000);
});
