import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import {
  type Child,
  freePort,
  type PortalProcess,
  readProcStat,
  REPO_ROOT,
  startChild,
} from '../test/support/portal-process';
import type { CpuShare } from './cpu';
import { loadSamples, round, type Summary, summarize } from './measure';

/** How each subscription's deliveries arrived: every event exactly once is the goal. */
export interface DeliveryCount {
  path: string;
  /** Events the subscription should have got: the creates made while it was enabled. */
  expected: number;
  received: number;
  distinct: number;
  /** Events it got that it should not have (made while it was disabled, or unknown). */
  unexpected: number;
}

/** CPU per create, ms: the portal (requests and deliveries), PostgreSQL, the receiver. */
export interface CreateCpu {
  portal: number;
  postgres: number;
  receiver: number;
}

/** What the webhooks phase measured; the report turns it into metrics, goals and a section. */
export interface WebhooksResults {
  setup: string;
  createHooks: Summary;
  createNone: Summary;
  createCpu: CpuShare | null;
  /**
   * CPU (user + system) per create, ms, by party: for a block with subscriptions from its
   * first request to its last delivery at the receiver, for one without to its last answer.
   */
  cpuPerCreate: Record<'hooks' | 'none', CreateCpu>;
  /** From the last 201 of a block with subscriptions to its last delivery at the receiver. */
  drain: Summary;
  /** At the receiver, minus the event's `timestamp` (set in the transaction, before its commit). */
  latency: Summary;
  /** At the receiver, minus the moment the bench got the create's 201 (after the commit). */
  latencyFrom201: Summary;
  /** POST /users during the latency run, at the client. */
  latencyCreates: Summary;
  latencyCpu: CpuShare | null;
  /** How late the paced sends left, against their schedule. */
  pacingLate: Summary;
  /** Creates per second actually sent, first to last. */
  rate: number;
  deliveries: DeliveryCount[];
  /** webhook_delivery rows of the phase not `delivered` at the end. */
  undelivered: number;
}

export interface WebhooksPhaseOptions {
  ds: DataSource;
  token: string;
  /** Starts a portal on the bench database with these variables added to the usual ones. */
  startPortal: (extra: Record<string, string>) => Promise<PortalProcess>;
  /** Runs a timed stretch with the CPU of the portal counted. */
  measure: <T>(portals: number[], fn: () => Promise<T>) => Promise<{ value: T; cpu: CpuShare }>;
  /** Starts counting the CPU each party uses, with `portals` as the portal. */
  cpuMeter: (portals: number[]) => { ms: () => CpuShare };
  log: (msg: string) => void;
  onCleanup: (undo: () => Promise<void>) => void;
  connections: number;
}

/** Creates per configuration, in blocks of BLOCK: 10 pairs of blocks for 1,000 each. */
const CREATES = 1000;
const BLOCK = 100;
const HOOK_PATHS = ['/hook-a', '/hook-b', '/hook-c'];
const LATENCY_PATH = '/latency';
const RATE_PER_S = 100;
const LATENCY_SECONDS = 10;
const EMAIL_TAG = 'wh-';

/**
 * The receiver, in its own process like another service's: it answers 204 at once and keeps
 * each request's path, webhook-id, body and arrival time (epoch ms, sub-millisecond), which
 * GET /received hands back. Its own process, so its work does not slow the load generator.
 */
const RECEIVER = `
  const got = [];
  require('node:http')
    .createServer((req, res) => {
      if (req.method === 'GET') {
        // /counts: arrivals and the last arrival time per path, cheap enough to poll.
        const counts = {};
        if (req.url === '/counts') {
          for (const [path, , at] of got) {
            const c = (counts[path] ??= { n: 0, last: 0 });
            c.n += 1;
            c.last = Math.max(c.last, at);
          }
        }
        const body = JSON.stringify(req.url === '/counts' ? counts : got);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(body);
      }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const at = performance.timeOrigin + performance.now();
        res.writeHead(204);
        res.end();
        got.push([req.url, req.headers['webhook-id'], at, Buffer.concat(chunks).toString()]);
      });
    })
    .listen(Number(process.env.RECEIVER_PORT), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));`;

interface Received {
  path: string;
  webhookId: string;
  at: number;
  event: { id: string; type: string; timestamp: string; data: { email?: string } };
}

async function startReceiver(): Promise<
  Child & {
    url: string;
    received: () => Promise<Received[]>;
    counts: () => Promise<Record<string, { n: number; last: number }>>;
  }
> {
  const port = await freePort();
  const child = startChild('webhook receiver', process.execPath, ['-e', RECEIVER], {
    cwd: REPO_ROOT,
    env: { ...process.env, RECEIVER_PORT: String(port) },
    keepOutput: 64 * 1024,
  });
  const url = `http://127.0.0.1:${port}`;
  await child.waitForHttp(`${url}/`, 30_000);
  const received = async (): Promise<Received[]> => {
    const rows = (await (await fetch(`${url}/`)).json()) as [string, string, number, string][];
    return rows.map(([path, webhookId, at, body]) => ({
      path,
      webhookId,
      at,
      event: JSON.parse(body) as Received['event'],
    }));
  };
  const counts = async (): Promise<Record<string, { n: number; last: number }>> =>
    (await (await fetch(`${url}/counts`)).json()) as Record<string, { n: number; last: number }>;
  return { ...child, url, received, counts };
}

/**
 * `create_c16` with three enabled subscriptions against none, and the time from commit to
 * receipt at 100 creates a second with one, on a portal of its own that may deliver to
 * loopback (WEBHOOK_ALLOWED_NETWORKS; the retry schedule is the default one).
 */
export async function webhooksPhase(o: WebhooksPhaseOptions): Promise<WebhooksResults> {
  const receiver = await startReceiver();
  o.onCleanup(async () => void (await receiver.stop()));
  // A wider range than the other phases': their 1,000 users stay, and the latency run's 1,000
  // creates (kept until its events are counted) would fill the 2,000 numbers to the last one.
  const portal = await o.startPortal({
    WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
    EXTENSION_MAX: '4999',
  });
  await portal.waitUntilHealthy(60_000);
  o.log(`webhooks: portal on ${portal.baseUrl}, receiver on ${receiver.url}`);

  const call = async (method: string, urlPath: string, expect: number, body?: unknown) => {
    const res = await fetch(`${portal.baseUrl}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expect) {
      throw new Error(`${method} ${urlPath}: expected ${expect}, got ${res.status}: ${text}`);
    }
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const subscribe = async (path: string): Promise<string> =>
    (await call('POST', '/webhooks', 201, { url: `${receiver.url}${path}`, events: ['*'] }))
      .id as string;
  const hooks = await Promise.all(HOOK_PATHS.map(subscribe));
  const setEnabled = async (ids: string[], enabled: boolean): Promise<void> => {
    for (const id of ids) await call('PATCH', `/webhooks/${id}`, 200, { enabled });
  };

  // Emails of the creates each subscription should get an event for.
  const expected = new Map<string, Set<string>>(HOOK_PATHS.map((p) => [p, new Set()]));
  const countAt = async (path: string): Promise<number> => (await receiver.counts())[path]?.n ?? 0;
  /** Until every path has all it should; then the time from `since` to the last arrival. */
  const drained = async (since: number): Promise<number> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const got = await receiver.counts();
      const done = [...expected].every(([path, want]) => (got[path]?.n ?? 0) >= want.size);
      if (done) return Math.max(0, ...Object.values(got).map((c) => c.last)) - since;
      if (Date.now() > deadline) throw new Error('webhooks: deliveries not all received in 60 s');
      await sleep(50);
    }
  };

  let blockNo = 0;
  /** One block of BLOCK creates over the bench's connections; its users deleted after. */
  const block = async (
    withHooks: boolean,
  ): Promise<{ samples: number[]; drainMs?: number; cpu: CreateCpu }> => {
    const tag = `${EMAIL_TAG}${blockNo++}-`;
    const receiverMs = (): number => {
      const st = readProcStat(receiver.pid);
      return st ? (st.utime + st.stime) * 10 : 0; // ticks of 10 ms
    };
    const meter = o.cpuMeter([portal.pid]);
    const receiver0 = receiverMs();
    const emails: string[] = [];
    const { samples, lastDoneAt } = await loadSamples({
      url: portal.baseUrl,
      token: o.token,
      method: 'POST',
      path: '/users',
      connections: o.connections,
      amount: BLOCK,
      expectStatus: 201,
      next: (i) => {
        const email = `${tag}${i}@bench.example`;
        emails.push(email);
        return { body: JSON.stringify({ name: `Hook ${tag}${i}`, email }) };
      },
    });
    // Up to the end of the block's requests plus autocannon's own tail (under a second).
    let drainMs: number | undefined;
    if (withHooks) {
      // autocannon may prepare a request it never sends: only the users that exist count.
      const made: { email: string }[] = await o.ds.query(
        `SELECT email FROM "user" WHERE email LIKE $1`,
        [`${tag}%`],
      );
      for (const want of expected.values()) for (const { email } of made) want.add(email);
      drainMs = await drained(lastDoneAt);
    }
    // Up to the last answer, or with subscriptions the last delivery: the block's own work.
    const used = meter.ms();
    const cpu = {
      portal: used.portal,
      postgres: used.postgres,
      receiver: receiverMs() - receiver0,
    };
    // Every block starts from the same users (those of the phases before), as create_c16 did.
    await o.ds.query(`DELETE FROM "user" WHERE email LIKE $1`, [`${tag}%`]);
    return { samples, drainMs, cpu };
  };

  // Blocks of 100 alternating on one warm portal, each pair starting with the other kind
  // (ABBA): whatever else the shared machine does in these minutes hits both alike. Two
  // portals would not do: the subscriptions are the database's, so both would deliver. Each
  // block with subscriptions is followed, untimed, until all its deliveries have arrived, so a
  // block without starts with no delivery of another's still running, and the time that takes
  // is reported (drain).
  o.log(`webhooks: one untimed pair of blocks, then ${CREATES / BLOCK} pairs of ${BLOCK} creates`);
  const order = (i: number): boolean[] => (i % 2 === 0 ? [true, false] : [false, true]);
  const runBlock = async (withHooks: boolean) => {
    await setEnabled(hooks, withHooks);
    return block(withHooks);
  };
  for (const withHooks of order(0)) await runBlock(withHooks);
  const samples = { hooks: [] as number[], none: [] as number[] };
  const drains: number[] = [];
  const cpuMs: Record<'hooks' | 'none', CreateCpu> = {
    hooks: { portal: 0, postgres: 0, receiver: 0 },
    none: { portal: 0, postgres: 0, receiver: 0 },
  };
  const { cpu: createCpu } = await o.measure([portal.pid], async () => {
    for (let i = 0; i < CREATES / BLOCK; i++) {
      for (const withHooks of order(i)) {
        const r = await runBlock(withHooks);
        samples[withHooks ? 'hooks' : 'none'].push(...r.samples);
        const kind = cpuMs[withHooks ? 'hooks' : 'none'];
        for (const party of ['portal', 'postgres', 'receiver'] as const)
          kind[party] += r.cpu[party];
        if (r.drainMs !== undefined) drains.push(r.drainMs);
      }
    }
  });
  await setEnabled(hooks, false);

  o.log(`webhooks: ${RATE_PER_S} creates a second for ${LATENCY_SECONDS} s, one subscription`);
  const latencyHook = await subscribe(LATENCY_PATH);
  expected.set(LATENCY_PATH, new Set());
  // Warm-up at the same pace, untimed (its users deleted again).
  const paced = async (n: number, tag: string) => {
    const answered = new Map<string, number>();
    const late: number[] = [];
    const ms: number[] = [];
    const sent: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      // One create every 10 ms, whatever the ones before are doing.
      const due = start + (i * 1000) / RATE_PER_S;
      await sleep(Math.max(0, due - performance.now()));
      const t0 = performance.now();
      late.push(t0 - due);
      const email = `${EMAIL_TAG}${tag}${i}@bench.example`;
      sent.push(
        call('POST', '/users', 201, { name: `Latency ${tag}${i}`, email }).then(() => {
          const t1 = performance.now();
          ms.push(t1 - t0);
          answered.set(email, performance.timeOrigin + t1);
        }),
      );
    }
    const lastSent = performance.now();
    await Promise.all(sent);
    return { answered, late, ms, rate: round(((n - 1) * 1000) / (lastSent - start), 1) };
  };
  await paced(RATE_PER_S, 'lw');
  await drainLatency(LATENCY_PATH, RATE_PER_S);
  await o.ds.query(`DELETE FROM "user" WHERE email LIKE $1`, [`${EMAIL_TAG}lw%`]);
  const n = RATE_PER_S * LATENCY_SECONDS;
  const { value: run, cpu: latencyCpu } = await o.measure([portal.pid], () => paced(n, 'l'));
  for (const email of run.answered.keys()) expected.get(LATENCY_PATH)!.add(email);
  await drainLatency(LATENCY_PATH, RATE_PER_S + n);

  async function drainLatency(path: string, want: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while ((await countAt(path)) < want) {
      if (Date.now() > deadline) throw new Error(`webhooks: ${path} did not get ${want} events`);
      await sleep(50);
    }
  }

  // A second's grace for any duplicate still on its way, then every arrival is counted.
  await sleep(1_000);
  const got = await receiver.received();
  const fromTimestamp: number[] = [];
  const from201: number[] = [];
  for (const r of got) {
    if (r.path !== LATENCY_PATH || !r.event.data.email) continue;
    const answeredAt = run.answered.get(r.event.data.email);
    if (answeredAt === undefined) continue; // the warm-up's
    fromTimestamp.push(r.at - Date.parse(r.event.timestamp));
    from201.push(r.at - answeredAt);
  }
  const deliveries: DeliveryCount[] = [...expected].map(([path, want]) => {
    const mine = got.filter((r) => r.path === path);
    const ids = new Set(mine.map((r) => r.webhookId));
    const wrongId = mine.filter((r) => r.webhookId !== r.event.id).length;
    const emails = mine.map((r) => r.event.data.email ?? '');
    // The latency path's expected set leaves out its warm-up, which it also got.
    const known = (e: string) => path === LATENCY_PATH && e.startsWith(`${EMAIL_TAG}lw`);
    const unexpected = emails.filter((e) => !want.has(e) && !known(e)).length + wrongId;
    const warm = path === LATENCY_PATH ? RATE_PER_S : 0;
    return {
      path,
      expected: want.size + warm,
      received: mine.length,
      distinct: ids.size,
      unexpected,
    };
  });
  const [{ n: undelivered }]: { n: number }[] = await o.ds.query(
    `SELECT count(*)::int AS n FROM webhook_delivery WHERE status <> 'delivered'`,
  );
  for (const id of [...hooks, latencyHook]) await call('DELETE', `/webhooks/${id}`, 204);
  await o.ds.query(`DELETE FROM "user" WHERE email LIKE $1`, [`${EMAIL_TAG}%`]);
  await portal.stop();
  await receiver.stop();

  return {
    setup: `Webhooks phase (last; VACUUM ANALYZE and CHECKPOINT before each timed part): a new portal with WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32 and otherwise default settings (the default retry schedule), and a receiver in its own process on 127.0.0.1 answering 204 at once. create_c16_hooks / create_c16_nohooks: three subscriptions to \`*\`, enabled (PATCH) for one block of ${BLOCK} creates over ${o.connections} connections and disabled for the next, ${CREATES / BLOCK} pairs after an untimed one, each pair starting with the other kind; after a block with subscriptions the bench waits, untimed, until the receiver has all its events (drain); every block's users are deleted after it, so each starts from the same 1,000 users. webhook_latency: one subscription to \`*\`, creates sent by a timer every ${1000 / RATE_PER_S} ms for ${LATENCY_SECONDS} s (each sent whether or not the ones before were answered) after one untimed second of the same.`,
    createHooks: summarize(samples.hooks),
    createNone: summarize(samples.none),
    createCpu,
    cpuPerCreate: {
      hooks: perCreate(cpuMs.hooks, samples.hooks.length),
      none: perCreate(cpuMs.none, samples.none.length),
    },
    drain: summarize(drains),
    latency: summarize(fromTimestamp),
    latencyFrom201: summarize(from201),
    latencyCreates: summarize(run.ms),
    latencyCpu,
    pacingLate: summarize(run.late),
    rate: run.rate,
    deliveries,
    undelivered,
  };
}

const perCreate = (ms: CreateCpu, creates: number): CreateCpu => ({
  portal: round(ms.portal / creates),
  postgres: round(ms.postgres / creates),
  receiver: round(ms.receiver / creates),
});
