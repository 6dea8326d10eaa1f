import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as path from 'node:path';
import { Client } from 'pg';
import { AsteriskSandbox } from '../support/asterisk-sandbox';
import { killAllChildren, type PortalProcess } from '../support/portal-process';
import { serverUrl } from '../support/test-database';
import { openRig, type Rig } from './support/rig';
import {
  hashesOf,
  StateHashes,
  classifyPair,
  headerProblems,
  readFiles,
} from './support/generated-files';
import { call, describeReply, Reply, routeTable } from './support/http-client';
import { OutageMode, TcpProxy } from './support/tcp-proxy';

const OUTAGE_MS = 5_000;
/** pg's connectionTimeoutMillis (3 s) plus slack: how long a request may take while it is down. */
const MAX_OUTAGE_REPLY_MS = 4_500;
const RECOVERY_LIMIT_MS = 15_000;

type Phase = 'before' | 'at the cut' | 'outage' | 'recovering' | 'after';

interface Timeline {
  cut: number;
  resume: number;
  recovered: number;
}

function phaseOf(r: Reply, t: Timeline): Phase {
  if (r.endedAt < t.cut) return 'before';
  if (r.startedAt < t.cut) return 'at the cut';
  if (r.endedAt <= t.resume) return 'outage';
  if (r.startedAt < t.recovered) return 'recovering';
  return 'after';
}

const isUnavailable = (r: Reply): boolean => {
  const body = r.body as { error?: unknown; message?: unknown } | null;
  return (
    r.status === 503 &&
    body?.error === 'DATABASE_UNAVAILABLE' &&
    typeof body.message === 'string' &&
    body.message.length > 0
  );
};

const isHealthDown = (r: Reply): boolean => {
  const body = r.body as { status?: unknown; database?: unknown } | null;
  return r.status === 503 && body?.status === 'error' && body.database === 'down';
};

/** What each phase allows; anything else is a finding, reported with its body. */
function problemWith(r: Reply, phase: Phase): string | undefined {
  const ok = r.status >= 200 && r.status < 300;
  const health = r.route === 'GET /health';
  const down = health ? isHealthDown(r) : isUnavailable(r);
  switch (phase) {
    case 'before':
    case 'after':
      return ok ? undefined : `expected success ${phase} the outage`;
    case 'at the cut':
    case 'recovering':
      return ok || down ? undefined : `expected success or the documented 503 (${phase})`;
    case 'outage':
      if (!down) {
        return health
          ? "expected 503 {status:'error', database:'down'} while the database is down"
          : "expected 503 {error:'DATABASE_UNAVAILABLE'} while the database is down";
      }
      return r.ms > MAX_OUTAGE_REPLY_MS ? `took ${r.ms} ms while the database is down` : undefined;
  }
}

/** The portal's log lines (JSON) that mention a request id, shortened, for the figures. */
function logLinesAbout(output: string, requestId: string | undefined): string[] {
  if (!requestId) return [];
  return output
    .split('\n')
    .filter((line) => line.includes(requestId))
    .map((line) => {
      try {
        const entry = JSON.parse(line) as {
          msg?: string;
          err?: { type?: string; message?: string };
        };
        return `  portal log: ${entry.msg ?? ''}${entry.err ? ` (${entry.err.type}: ${entry.err.message})` : ''}`;
      } catch {
        return `  portal log: ${line.slice(0, 300)}`;
      }
    });
}

describe('resilience: the database goes away and comes back (TCP proxy)', () => {
  let rig: Rig | undefined;
  let box: AsteriskSandbox;
  let pg: Client;
  let proxy: TcpProxy;
  let portal: PortalProcess;
  const acknowledged = new Map<string, string>();
  const summaries: string[] = [];

  beforeAll(async () => {
    rig = await openRig();
    ({ box, pg } = rig);
    const server = new URL(serverUrl());
    proxy = new TcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(rig.db.url);
    viaProxy.port = String(await proxy.start());
    portal = await rig.launch({ DATABASE_URL: viaProxy.toString() });
  }, 30_000);

  // A test that failed mid-outage must not leave the next one without its database.
  afterEach(async () => {
    box.clearFaults();
    if (proxy.state !== 'open') await proxy.resume();
  });

  afterAll(async () => {
    if (summaries.length) process.stdout.write(`${summaries.join('\n')}\n`);
    await killAllChildren();
    await proxy?.close();
    await rig?.close();
  }, 30_000);

  /**
   * A few clients creating and listing (each deleting its oldest user past 20, so the
   * extension pool lasts), and one polling /health, until stop() is called.
   */
  function lightLoad(tag: string): { replies: Reply[]; stop: () => Promise<void> } {
    const replies: Reply[] = [];
    let running = true;
    const creator = async (n: number): Promise<void> => {
      const own: string[] = [];
      for (let seq = 0; running; seq++) {
        const email = `${tag}-${n}-${seq}@outage.example.com`;
        const r = await call(
          portal.baseUrl,
          'POST',
          '/users',
          { name: `Outage ${n}`, email },
          20_000,
        );
        replies.push(r);
        if (r.status === 201) {
          const { id } = r.body as { id: string };
          acknowledged.set(id, email);
          own.push(id);
        }
        replies.push(await call(portal.baseUrl, 'GET', '/users?limit=20', undefined, 20_000));
        if (own.length > 20) {
          const id = own.shift()!;
          const d = await call(portal.baseUrl, 'DELETE', `/users/${id}`, undefined, 20_000);
          replies.push(d);
          // Whether a delete answered 503 took effect is unknown: only 201s not since
          // deleted are checked.
          acknowledged.delete(id);
        }
        await sleep(100);
      }
    };
    const prober = async (): Promise<void> => {
      while (running) {
        replies.push(await call(portal.baseUrl, 'GET', '/health', undefined, 20_000));
        await sleep(250);
      }
    };
    const loops = [creator(0), creator(1), creator(2), prober()];
    return {
      replies,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  it.each<[OutageMode, string]>([
    ['refuse', 'connections refused, like a stopped server'],
    ['blackhole', 'connections swallowed, like a dead host'],
  ])(
    'outage (%s: %s): 503 DATABASE_UNAVAILABLE meanwhile, recovery without a restart, no acknowledged write lost',
    async (mode) => {
      const pid = portal.pid;
      const load = lightLoad(mode);
      const t: Timeline = { cut: 0, resume: 0, recovered: 0 };
      let aliveDuringOutage: boolean;
      let recoveredAt = 0;
      try {
        await sleep(1_500);
        t.cut = Date.now();
        await proxy.cut(mode);
        await sleep(OUTAGE_MS);
        aliveDuringOutage = portal.isRunning();
        t.resume = Date.now();
        await proxy.resume();
        // Health is polled apart from the load so the recovery time is measured precisely.
        while (Date.now() - t.resume < RECOVERY_LIMIT_MS) {
          const h = await call(portal.baseUrl, 'GET', '/health', undefined, 5_000);
          if (h.status === 200) {
            recoveredAt = h.endedAt;
            break;
          }
          await sleep(100);
        }
        t.recovered = recoveredAt || Date.now();
        await sleep(1_500);
      } finally {
        await load.stop();
      }
      const afterCreate = await call(portal.baseUrl, 'POST', '/users', {
        name: 'After Outage',
        email: `${mode}-after@outage.example.com`,
      });
      if (afterCreate.status === 201) {
        acknowledged.set((afterCreate.body as { id: string }).id, `${mode}-after`);
      }

      const byPhase = new Map<Phase, Reply[]>();
      const findings: string[] = [];
      for (const r of load.replies) {
        const phase = phaseOf(r, t);
        byPhase.set(phase, [...(byPhase.get(phase) ?? []), r]);
        const problem = problemWith(r, phase);
        if (problem) findings.push(`${phase}: ${problem}: ${describeReply(r)}`);
      }
      const outage = byPhase.get('outage') ?? [];
      const { rows } = await pg.query<{ id: string }>('SELECT id FROM "user"');
      const stored = new Set(rows.map((r) => r.id));
      const lost = [...acknowledged].filter(([id]) => !stored.has(id));
      const firstDown = outage.map((r) => r.endedAt - t.cut).sort((a, b) => a - b)[0];

      summaries.push(
        [
          '',
          `===== database outage: ${mode} =====`,
          `cut for ${t.resume - t.cut} ms; first 503 ${firstDown ?? '-'} ms after the cut; healthy again ${recoveredAt ? `${recoveredAt - t.resume} ms after the resume` : `NOT within ${RECOVERY_LIMIT_MS} ms`}; same process: ${portal.isRunning() && portal.pid === pid}`,
          `proxy: ${proxy.stats.forwarded} connections forwarded, ${proxy.stats.reset} reset, ${proxy.stats.swallowed} swallowed (all outages so far)`,
          ...(['before', 'at the cut', 'outage', 'recovering', 'after'] as Phase[]).flatMap((p) => {
            const list = byPhase.get(p) ?? [];
            return list.length ? [`-- ${p}`, routeTable(list)] : [];
          }),
          `answer while down: ${outage.find((r) => r.route === 'POST /users')?.text ?? '-'}`,
          `acknowledged creates so far: ${acknowledged.size}, all in the database: ${lost.length === 0}`,
          `findings: ${findings.length}`,
          ...findings.slice(0, 30).map((f) => `  ${f}`),
          '==========================================',
        ].join('\n'),
      );

      expect(aliveDuringOutage).toBe(true);
      expect(portal.isRunning()).toBe(true);
      expect(portal.pid).toBe(pid);
      expect(recoveredAt).toBeGreaterThan(0);
      expect(outage.filter((r) => r.route === 'POST /users').length).toBeGreaterThan(0);
      expect(outage.filter((r) => r.route === 'GET /health').length).toBeGreaterThan(0);
      expect({ findings: findings.length, first: findings.slice(0, 5) }).toEqual({
        findings: 0,
        first: [],
      });
      expect(afterCreate.status).toBe(201);
      expect(lost).toEqual([]);
    },
    40_000,
  );

  it('an apply in flight when the database goes away: the pair stays whole, the audit log recovers', async () => {
    expect((await call(portal.baseUrl, 'POST', '/apply')).status).toBe(200);
    const old = hashesOf(readFiles(box));
    const created = await call(portal.baseUrl, 'POST', '/users', {
      name: 'Mid Apply',
      email: 'mid-apply@outage.example.com',
    });
    expect(created.status).toBe(201);
    const dry = await call(portal.baseUrl, 'POST', '/apply?dryRun=true');
    const planned = (dry.body as { files: { sha256: string }[] }).files.map((f) => f.sha256);
    const states: Record<string, StateHashes> = {
      old: old!,
      new: { endpoints: planned[0], routing: planned[1] },
    };
    box.setFaults({ delayMs: { 'module reload res_pjsip.so': 1_500 } });
    const applying = call(portal.baseUrl, 'POST', '/apply', undefined, 30_000);
    // Cut while Asterisk reloads: the files are written, the audit row is still open.
    const lock = path.join(box.state, 'reload.lock');
    for (let i = 0; i < 100 && !fs.existsSync(lock); i++) await sleep(50);
    expect(fs.existsSync(lock)).toBe(true);
    await proxy.cut('refuse');
    const reply = await applying;
    await sleep(500);
    const files = readFiles(box);
    await proxy.resume();
    box.clearFaults();
    await portal.waitUntilHealthy(RECOVERY_LIMIT_MS);
    const next = await call(portal.baseUrl, 'POST', '/apply');
    const { rows: audit } = await pg.query<{ id: string; outcome: string; summary: string }>(
      'SELECT id, outcome, summary FROM apply_audit_log ORDER BY started_at',
    );
    summaries.push(
      [
        '',
        '===== database outage during an apply =====',
        `apply in flight at the cut: ${describeReply(reply)}`,
        `files on disk meanwhile: ${classifyPair(files, states)}`,
        ...logLinesAbout(portal.output(), (reply.body as { requestId?: string } | null)?.requestId),
        `next apply after recovery: ${describeReply(next)}`,
        `audit rows: ${audit.map((a) => `${a.id.slice(0, 8)} ${a.outcome}`).join(', ')}`,
        '============================================',
      ].join('\n'),
    );

    // All checked before asserting, so one run shows every finding.
    const findings: string[] = [];
    if (!portal.isRunning()) findings.push('the portal exited');
    // It cannot record the outcome, so it must say the database failed: 503, not 500.
    if (!isUnavailable(reply)) {
      findings.push(
        `the interrupted apply answered ${describeReply(reply)}, not 503 DATABASE_UNAVAILABLE`,
      );
    }
    findings.push(...headerProblems('during the outage:', files));
    const pair = classifyPair(files, states);
    if (pair !== 'old' && pair !== 'new') findings.push(`the pair on disk is ${pair}`);
    if (next.status !== 200) findings.push(`the next apply: ${describeReply(next)}`);
    // Once the database is back and an apply has run, no audit row may stay `running`.
    for (const a of audit.filter((row) => row.outcome === 'running')) {
      findings.push(`audit row ${a.id} is still running after the recovery and the next apply`);
    }
    expect(findings).toEqual([]);
  }, 40_000);
});
