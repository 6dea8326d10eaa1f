/**
 * `npm run bench`: the production build against a fresh PostgreSQL database and the fake
 * Asterisk CLI, every figure beside a floor measured in the same run on the same machine.
 *
 * Env: BENCH_DATABASE_URL (server to create the throw-away database on), BENCH_CPU_PROF
 * (a directory: the portal runs with --cpu-prof and writes its profile there on exit),
 * BENCH_TIMEOUT_S (hard limit for the whole run, default 300).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ApplyRepository } from '../src/apply/apply.repository';
import { renderConfig } from '../src/asterisk/render-config';
import type { SipAccountRow } from '../src/asterisk/generation/types';
import { dataSourceOptions } from '../src/database/data-source-options';
import { AsteriskSandbox, FAKE_CLI } from '../test/support/asterisk-sandbox';
import { type Child, killAllChildren } from '../test/support/portal-process';
import { adminQuery, withDatabase } from '../test/support/test-database';
import { CpuMeter, type CpuShare } from './cpu';
import {
  cliApplySequence,
  cliSingle,
  type FakeCli,
  fileFloor,
  httpFloor,
  PgWriteFloor,
  pgListFloor,
  startHttpFloorServer,
  timeSync,
} from './floors';
import { load } from './load';
import { expectStatus, type Portal, startPortal } from './portal';
import { type Goal, MetricSet, renderText, type Results, writeResults } from './report';
import { type Summary, summarize, timeSequential } from './stats';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S || 300);
const CONTEXT = 'synergycall-internal';
const EXT_MIN = 1000;
const EXT_MAX = 2999;
const USERS = 1000;
const CONCURRENCY = 16;
const LIST_REQUESTS = 200;
const APPLY_RUNS = 10;
/** Untimed changed and unchanged applies before the timed ones. */
const APPLY_WARM_UP = 5;
/** At most: 2 reloads (only for a changed file) and 2 read-backs (always). */
const CLI_CALLS_PER_APPLY = 4;
const CLI_READS_PER_APPLY = 2;
const TOKEN = `bench-${randomBytes(16).toString('hex')}`;

/** Table order: each portal figure, then what it is compared with. */
const ORDER = [
  'create_seq',
  'floor_pg_create_seq',
  'create_c16',
  'floor_pg_create_c16',
  'delete_c16',
  'floor_pg_delete_c16',
  'list_1000',
  'floor_pg_list_json',
  'floor_http_list_bytes',
  'apply_1000_changed',
  'apply_1000_changed_cli',
  'apply_1000_changed_own',
  'apply_1000_nochange',
  'apply_1000_nochange_cli',
  'apply_1000_nochange_own',
  'load_sip_accounts_1000',
  'generate_1000',
  'floor_files_write',
  'fake_cli_one_call',
  'fake_cli_pjsip_reload',
  'fake_cli_apply_sequence',
  'floor_cli_round_trip',
];

const log = (msg: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
};
const started = performance.now();

/** Everything to undo, however the run ends. */
const cleanup: { dbName?: string; box?: AsteriskSandbox; ds?: DataSource; children: Child[] } = {
  children: [],
};

async function tearDown(): Promise<void> {
  for (const c of cleanup.children) await c.stop().catch(() => undefined);
  await killAllChildren();
  if (cleanup.ds?.isInitialized) await cleanup.ds.destroy().catch(() => undefined);
  if (cleanup.dbName) {
    await adminQuery(`DROP DATABASE IF EXISTS "${cleanup.dbName}" WITH (FORCE)`, SERVER_URL).catch(
      (err: unknown) => log(`could not drop database ${cleanup.dbName}: ${String(err)}`),
    );
  }
  cleanup.box?.remove();
}

function abort(reason: string): void {
  log(`aborting: ${reason}`);
  void killAllChildren();
  void tearDown().finally(() => process.exit(1));
  // Whatever tearDown is waiting on, the process does not outlive this.
  setTimeout(() => process.exit(1), 10_000).unref();
}

async function main(): Promise<Results> {
  const dbName = `portal_bench_${process.pid}_${Date.now().toString(36)}`;
  const dbUrl = withDatabase(SERVER_URL, dbName);
  log(`creating database ${dbName} on ${new URL(SERVER_URL).host} and running the migrations`);
  await adminQuery(`CREATE DATABASE "${dbName}"`, SERVER_URL);
  cleanup.dbName = dbName;
  const ds = new DataSource(dataSourceOptions(dbUrl));
  cleanup.ds = ds;
  await ds.initialize();
  await ds.runMigrations({ transaction: 'all' });

  const box = new AsteriskSandbox();
  cleanup.box = box;
  // The fake's client itself, as ASTERISK_CLI would name /usr/sbin/asterisk: one exec per
  // call. (Tests go through the sandbox's sh wrapper, which adds a second exec.)
  const fakeVars = {
    ASTERISK_CLI: FAKE_CLI,
    FAKE_ASTERISK_ETC: box.etc,
    FAKE_ASTERISK_STATE: box.state,
  };
  const fakeCli: FakeCli = { file: FAKE_CLI, env: { ...process.env, ...fakeVars } };
  const profDir = process.env.BENCH_CPU_PROF;
  const portal = await startPortal(
    {
      ...box.env({ ASTERISK_TIMEOUT_MS: '15000' }),
      ...fakeVars,
      DATABASE_URL: dbUrl,
      LOG_LEVEL: 'warn',
      EXTENSION_MIN: String(EXT_MIN),
      EXTENSION_MAX: String(EXT_MAX),
    },
    TOKEN,
    profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [],
  );
  cleanup.children.push(portal.child);
  log(`portal (dist/src/main.js) up on ${portal.baseUrl}`);

  const metrics = new MetricSet();
  const notes: string[] = [];
  const meter = new CpuMeter(dbName, () => portal.child.pid);
  // Each timed phase starts from a vacuumed database and a clean checkpoint: what autovacuum
  // (off on this server) would have done after the phase before, and no flush of that phase's
  // dirty pages (2,000 creates, say) in the middle of the next one.
  const measure = async <T>(fn: () => Promise<T>): Promise<{ value: T; cpu: CpuShare }> => {
    await ds.query('VACUUM ANALYZE');
    await ds.query('CHECKPOINT');
    return meter.measure(fn);
  };

  log('floors: raw pg create/delete transactions (scratch tables)');
  const pgFloor = await PgWriteFloor.open(dbUrl, CONCURRENCY);
  let floorCreateSeq: Summary;
  let floorCreateC16: Summary;
  try {
    const seq = await measure(() => pgFloor.createSequential(USERS));
    floorCreateSeq = seq.value;
    metrics.add(
      'floor_pg_create_seq',
      'raw pg, 1 client: BEGIN; advisory xact lock; INSERT user; INSERT extension; COMMIT (copies of the real tables, empty at the start)',
      seq.value,
      { cpu: seq.cpu },
    );
    const c16 = await measure(() => pgFloor.createConcurrent(USERS));
    floorCreateC16 = c16.value;
    metrics.add(
      'floor_pg_create_c16',
      `the same transaction from ${CONCURRENCY} clients at once, queueing on the lock like the portal (1,000 rows present)`,
      c16.value,
      { cpu: c16.cpu },
    );
    const del = await measure(() => pgFloor.deleteConcurrent());
    metrics.add(
      'floor_pg_delete_c16',
      `raw pg DELETE of one user (its extension cascades) from ${CONCURRENCY} clients`,
      del.value,
      { cpu: del.cpu },
    );
  } finally {
    await pgFloor.close();
  }

  await warmUp(portal);

  const userBody = (tag: string): string =>
    JSON.stringify({ name: `Bench User ${tag}`, email: `bench-${tag}@bench.example` });
  for (const [name, connections, tag, floor] of [
    ['create_seq', 1, 's', floorCreateSeq],
    ['create_c16', CONCURRENCY, 'c', floorCreateC16],
  ] as const) {
    log(`phase 1: ${USERS} creates over ${connections} connection(s)`);
    const run = await measure(() =>
      load({
        title: name,
        url: portal.baseUrl,
        token: TOKEN,
        method: 'POST',
        path: '/users',
        connections,
        amount: USERS,
        expectStatus: 201,
        next: (i) => ({ body: userBody(`${tag}${i}`) }),
      }),
    );
    metrics.add(
      name,
      `POST /users, ${USERS} over ${connections} connection(s) (${tag === 's' ? 'no users' : '1,000 users'} present at the start)`,
      run.value,
      { floor: { name: `floor_pg_${name}`, p50_ms: floor.p50_ms }, cpu: run.cpu },
    );
  }
  await checkExtensions(ds, 2 * USERS);

  // Deleting here (rather than last) leaves exactly 1,000 users for the list and the apply.
  log(`phase 4: ${USERS} deletes over ${CONCURRENCY} connections`);
  const victims: { id: string }[] = await ds.query(
    `SELECT u.id FROM "user" u JOIN extension e ON e.user_id = u.id ORDER BY e.number LIMIT $1`,
    [USERS],
  );
  const del = await measure(() =>
    load({
      title: 'delete_c16',
      url: portal.baseUrl,
      token: TOKEN,
      method: 'DELETE',
      path: '/users',
      connections: CONCURRENCY,
      amount: USERS,
      expectStatus: 204,
      // Past the list (autocannon may prepare a request it never sends) an unknown id 404s.
      next: (i) => ({
        path: `/users/${victims[i]?.id ?? '00000000-0000-4000-8000-00000000dead'}`,
      }),
    }),
  );
  metrics.add(
    'delete_c16',
    `DELETE /users/:id, ${USERS} over ${CONCURRENCY} connections (2,000 users present at the start)`,
    del.value,
    {
      floor: { name: 'floor_pg_delete_c16', p50_ms: metrics.get('floor_pg_delete_c16').p50_ms },
      cpu: del.cpu,
    },
  );
  await checkExtensions(ds, USERS);

  log(`phase 2: list of ${USERS} users, ${LIST_REQUESTS} requests`);
  const listPath = `/users?limit=${USERS}&offset=0`;
  const sample = expectStatus(await portal.request('GET', listPath), 200, 'GET /users');
  const listed = JSON.parse(sample.body.toString('utf8')) as {
    items: { id: string }[];
    total: number;
  };
  if (listed.items.length !== USERS || listed.total !== USERS) {
    throw new Error(`GET /users returned ${listed.items.length} of ${listed.total}, not ${USERS}`);
  }
  const list = await measure(() =>
    load({
      title: 'list',
      url: portal.baseUrl,
      token: TOKEN,
      path: listPath,
      connections: 1,
      amount: LIST_REQUESTS,
      expectStatus: 200,
    }),
  );
  const pgList = await measure(() => pgListFloor(dbUrl, LIST_REQUESTS));
  metrics.add(
    'floor_pg_list_json',
    `in-process pg: the list's SELECT of ${USERS} joined rows, mapped and JSON.stringify'd`,
    pgList.value,
    { cpu: pgList.cpu },
  );
  const floorServer = await startHttpFloorServer(sample.body, box.root);
  cleanup.children.push(floorServer.child);
  const httpList = await measure(() => httpFloor(floorServer.port, LIST_REQUESTS, 1, 'http floor'));
  await floorServer.child.stop();
  metrics.add(
    'floor_http_list_bytes',
    `bare node:http server (own process) answering with the portal's ${Math.round(sample.body.length / 1024)} KB list body, 1 connection`,
    httpList.value,
    { cpu: httpList.cpu },
  );
  metrics.add(
    'list_1000',
    `GET ${listPath}, ${LIST_REQUESTS} requests over 1 connection, ${sample.body.length} bytes each`,
    list.value,
    {
      floor: {
        name: 'floor_pg_list_json + floor_http_list_bytes',
        p50_ms: pgList.value.p50_ms + httpList.value.p50_ms,
      },
      cpu: list.cpu,
    },
  );

  log(`phase 3: apply of ${USERS} users`);
  const first = await applyOnce(portal, null);
  notes.push(
    `First apply (writes both files and their last-good copies; not in the table): ${first.ms.toFixed(1)} ms at the client, ${first.serverMs} ms in the portal.`,
  );
  // Outside the timing: one user's new digests make the endpoints file really change.
  const rotate = async (i: number): Promise<void> => {
    expectStatus(
      await portal.request('POST', `/users/${listed.items[i].id}/sip-password`),
      200,
      'rotate password',
    );
  };
  // Untimed warm-up of both paths: the first applies run the portal's and the fake's apply
  // code before the JIT has compiled it (the first three took 250-500 ms, later ones ~200).
  for (let i = 0; i < APPLY_WARM_UP; i++) {
    await rotate(APPLY_RUNS + i);
    await applyOnce(portal, true);
    await applyOnce(portal, false);
  }
  const changedRuns = await measure(async () => {
    const runs: ApplyRun[] = [];
    for (let i = 0; i < APPLY_RUNS; i++) {
      await rotate(i);
      runs.push(await applyTimed(portal, true));
    }
    return runs;
  });
  const unchangedRuns = await measure(async () => {
    const runs: ApplyRun[] = [];
    for (let i = 0; i < APPLY_RUNS; i++) runs.push(await applyTimed(portal, false));
    return runs;
  });

  log('apply floors: generation, file writes, fake CLI');
  const applyRepository = new ApplyRepository(ds);
  const rows: SipAccountRow[] = await applyRepository.loadSipAccounts(ds.manager);
  if (rows.length !== USERS) throw new Error(`loadSipAccounts returned ${rows.length} rows`);
  metrics.add(
    'load_sip_accounts_1000',
    `in-process loadSipAccounts (the apply's query through TypeORM) for ${USERS} users`,
    await timeSequential(50, () => applyRepository.loadSipAccounts(ds.manager), 5),
  );
  metrics.add(
    'generate_1000',
    `in-process renderConfig on ${USERS} rows: both bodies, their hashes, the expected state`,
    timeSync(200, () => renderConfig(rows, { context: CONTEXT })),
  );
  const endpoints = box.read(box.endpointsFile);
  const routing = box.read(box.routingFile);
  if (endpoints === null || routing === null) throw new Error('the apply wrote no files');
  const files = await fileFloor(
    [
      { dir: box.pjsipDir, name: 'floor_endpoints.bench', content: endpoints },
      { dir: box.dialplanDir, name: 'floor_routing.bench', content: routing },
    ],
    50,
  );
  metrics.add(
    'floor_files_write',
    `write + fsync + rename + fsync dir of both generated files (${Math.round(Buffer.byteLength(endpoints) / 1024)} KB + ${Math.round(Buffer.byteLength(routing) / 1024)} KB), same filesystem`,
    files,
  );
  const cliShow = await cliSingle(fakeCli, 'pjsip show endpoints', 20);
  metrics.add(
    'fake_cli_one_call',
    `one fake CLI call, "pjsip show endpoints" with ${USERS} endpoints loaded (client start-up and round trip included)`,
    cliShow,
  );
  const cliReload = await cliSingle(fakeCli, 'module reload res_pjsip.so', 10);
  metrics.add(
    'fake_cli_pjsip_reload',
    `one fake "module reload res_pjsip.so" with ${USERS} users (parses the ${Math.round(Buffer.byteLength(endpoints) / 1024)} KB file)`,
    cliReload,
  );
  metrics.add(
    'fake_cli_apply_sequence',
    `the ${CLI_CALLS_PER_APPLY} CLI runs of an apply that changed both files, run by the bench as ApplyService runs them: 2 reloads in turn, then ${CLI_READS_PER_APPLY} read-backs in parallel`,
    await cliApplySequence(fakeCli, CONTEXT, APPLY_RUNS),
  );
  const roundTrip = await cliSingle(fakeCli, 'core show version', 20);
  metrics.add(
    'floor_cli_round_trip',
    `one fake CLI call the fake does not implement ("No such command"): the client's start-up and one round trip to the fake's server, what every one of the up to ${CLI_CALLS_PER_APPLY} calls of an apply costs before any work`,
    roundTrip,
  );
  for (const [name, { value: list, cpu }, what, fileFloorMs] of [
    [
      'apply_1000_changed',
      changedRuns,
      `POST /apply, ${USERS} users, one password rotated before each run (endpoints file rewritten)`,
      files.p50_ms,
    ],
    [
      'apply_1000_nochange',
      unchangedRuns,
      `POST /apply, ${USERS} users, nothing changed (no file written; reload and verify still run)`,
      0,
    ],
  ] as const) {
    const cli = summarize(
      list.map((r) => r.cliMs),
      1,
    );
    metrics.add(
      name,
      what,
      summarize(
        list.map((r) => r.ms),
        list.reduce((a, r) => a + r.ms, 0),
      ),
      {
        floor: {
          name: `${fileFloorMs ? 'floor_files_write + ' : ''}${name}_cli`,
          p50_ms: fileFloorMs + cli.p50_ms,
        },
        cpu,
      },
    );
    metrics.add(
      `${name}_cli`,
      `the fake CLI's part of each ${name}, from the portal's own transcript: both reloads plus the slowest of the parallel read-backs`,
      { ...cli, rps: null },
    );
    metrics.add(
      `${name}_own`,
      `${name} minus its ${name}_cli, per run: the portal's own share (HTTP, lock, queries, generation, files, audit)`,
      {
        ...summarize(
          list.map((r) => r.ms - r.cliMs),
          1,
        ),
        rps: null,
      },
    );
  }
  const median = (xs: number[]): number => summarize(xs, 1).p50_ms;
  notes.push(
    `Apply duration the portal reports (durationMs, p50): changed ${median(changedRuns.value.map((r) => r.serverMs))} ms, unchanged ${median(unchangedRuns.value.map((r) => r.serverMs))} ms.`,
    `The fake CLI works like \`asterisk -rx\`: a small client (bash) of a running server (node) that holds the loaded state; ASTERISK_CLI names the client itself, as it would name /usr/sbin/asterisk; the server runs the commands one at a time, so the ${CLI_READS_PER_APPLY} parallel read-backs queue there (${cliShow.p50_ms.toFixed(1)} ms for one read-back, ${cliReload.p50_ms.toFixed(1)} ms for the PJSIP reload, ${roundTrip.p50_ms.toFixed(1)} ms for a call that does nothing). Its share of each apply (*_cli) is read from the durations the portal records per command in the apply's audit log; *_own is what is left: the portal's own work.`,
    'A real Asterisk 22 takes 160-260 ms for the PJSIP reload alone with 1,000 users, and 30 ms for "pjsip show endpoints" (test/fixtures/asterisk-22-facts.md): with it, add about 0.2 s to the apply figures.',
  );

  await portal.child.stop();
  if (profDir) notes.push(`CPU profile of the portal written to ${profDir}.`);
  const noisy = Object.entries(metrics.metrics).filter(([, m]) => (m.cpu?.other ?? 0) > 20);
  if (noisy.length) {
    notes.push(
      `Other processes used over 20% of a core during ${noisy.map(([n, m]) => `${n} (${m.cpu?.other}%)`).join(', ')}: those figures are pessimistic; rerun on a quiet machine.`,
    );
  }

  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    setup: [
      `PostgreSQL ${await serverSettings(dbUrl)} at ${new URL(SERVER_URL).host}, fresh database ${dbName} (migrated by the bench, dropped at the end).`,
      'Portal: production build dist/src/main.js as a child process on 127.0.0.1, LOG_LEVEL=warn, fake Asterisk CLI in a throw-away sandbox.',
      `EXTENSION_MIN=${EXT_MIN} EXTENSION_MAX=${EXT_MAX}: room for the 2,000 users that exist at once after the two create phases.`,
      `Load: autocannon ${autocannonVersion()} in the bench process; latencies are its per-response times, unrounded; percentiles are nearest-rank (with N=10, p99 is the slowest run). Portal, PostgreSQL and load generator share the same ${os.cpus().length} CPUs; the cpu column is % of one core per party during the phase (portal includes its CLI helper process; cli = the fake Asterisk: its server and the CLI clients the portal ran).`,
      'Order (VACUUM ANALYZE and CHECKPOINT before each timed phase): pg floors, 50 untimed warm-up creates/lists/deletes, create (1 connection), create (16), extension check, delete (16) of the first 1,000, list, list floors, apply (5 untimed changed + unchanged pairs, then 10 changed, 10 unchanged), apply floors.',
    ],
    metrics: metrics.ordered(ORDER),
    goals: evaluateGoals(metrics),
    notes,
  };
}

interface ApplyRun {
  ms: number;
  serverMs: number;
  /** Wall time the portal spent waiting for the CLI, from the durations in its audit summary. */
  cliMs: number;
}

/** One POST /apply, then its audit row, whose transcript gives each CLI command's duration. */
async function applyTimed(portal: Portal, changed: boolean): Promise<ApplyRun> {
  const r = await applyOnce(portal, changed);
  const logs = expectStatus(await portal.request('GET', '/apply/logs?limit=1'), 200, 'apply logs');
  const [entry] = JSON.parse(logs.body.toString('utf8')) as { summary: string }[];
  const durations = new Map<string, number>();
  for (const line of entry.summary.split('\n')) {
    const m = /^(.+?): .*\(exit \d+, (\d+) ms\)$/.exec(line);
    if (m) durations.set(m[1], Number(m[2]));
  }
  const reloads = ['module reload res_pjsip.so', 'dialplan reload'];
  const reads = [...durations].filter(([c]) => !reloads.includes(c)).map(([, ms]) => ms);
  // The read-backs always run; a reload runs only for a file that changed.
  if (reads.length !== CLI_READS_PER_APPLY) {
    throw new Error(`apply transcript has ${reads.length} read-backs: ${entry.summary}`);
  }
  // The reloads run one after the other, the read-backs side by side.
  const cliMs = reloads.reduce((a, c) => a + (durations.get(c) ?? 0), 0) + Math.max(...reads);
  return { ...r, cliMs };
}

/** Creates and deletes a few users so the first timed request does not pay for JIT warm-up. */
async function warmUp(portal: Portal): Promise<void> {
  log('warm-up: 50 creates, 50 lists, 50 deletes (untimed)');
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const res = expectStatus(
      await portal.request('POST', '/users', {
        name: `Warm Up ${i}`,
        email: `warmup-${i}@bench.example`,
      }),
      201,
      'warm-up create',
    );
    ids.push((JSON.parse(res.body.toString('utf8')) as { id: string }).id);
    expectStatus(await portal.request('GET', '/users?limit=1000'), 200, 'warm-up list');
  }
  for (const id of ids)
    expectStatus(await portal.request('DELETE', `/users/${id}`), 204, 'warm-up delete');
}

/** Fails loudly unless exactly `count` users each have their own extension inside the range. */
async function checkExtensions(ds: DataSource, count: number): Promise<void> {
  const [r]: { users: string; ext: string; distinct: string; lo: number; hi: number }[] =
    await ds.query(
      `SELECT (SELECT count(*) FROM "user") AS users, count(*) AS ext,
              count(DISTINCT number) AS distinct, min(number) AS lo, max(number) AS hi
       FROM extension`,
    );
  const problems: string[] = [];
  if (Number(r.users) !== count) problems.push(`${r.users} users, expected ${count}`);
  if (Number(r.ext) !== count) problems.push(`${r.ext} extensions, expected ${count}`);
  if (Number(r.distinct) !== Number(r.ext)) {
    problems.push(`only ${r.distinct} distinct extension numbers among ${r.ext}`);
  }
  if (count > 0 && (r.lo < EXT_MIN || r.hi > EXT_MAX)) {
    problems.push(`extensions ${r.lo}-${r.hi} outside ${EXT_MIN}-${EXT_MAX}`);
  }
  if (problems.length) throw new Error(`EXTENSION CHECK FAILED: ${problems.join('; ')}`);
  log(`extension check: ${count} users, ${r.distinct} distinct extensions (${r.lo}-${r.hi})`);
}

async function applyOnce(
  portal: Portal,
  expectChanged: boolean | null,
): Promise<{ ms: number; serverMs: number }> {
  const res = expectStatus(await portal.request('POST', '/apply'), 200, 'POST /apply');
  const body = JSON.parse(res.body.toString('utf8')) as {
    outcome: string;
    users: number;
    durationMs: number;
    files: { changed: boolean }[];
  };
  if (body.outcome !== 'success' || body.users !== USERS) {
    throw new Error(`apply: ${res.body.toString('utf8')}`);
  }
  const anyChanged = body.files.some((f) => f.changed);
  if (expectChanged !== null && anyChanged !== expectChanged) {
    throw new Error(`apply: expected changed=${expectChanged}, got ${JSON.stringify(body.files)}`);
  }
  return { ms: res.ms, serverMs: body.durationMs };
}

function evaluateGoals(metrics: MetricSet): Goal[] {
  const c = metrics.get('create_c16');
  const l = metrics.get('list_1000');
  const a = metrics.get('apply_1000_changed');
  const ratio = (r: number | null): number => r ?? Number.POSITIVE_INFINITY;
  const result = (ok: boolean): 'PASS' | 'MISS' => (ok ? 'PASS' : 'MISS');
  return [
    {
      metric: 'create_c16',
      goal: 'p99 <= 25 ms with 16 clients and p50 <= 3x its floor (floor_pg_create_c16)',
      result: result(c.p99_ms <= 25 && ratio(c.ratio) <= 3),
      // The floor's own p99 says whether 25 ms is reachable on this machine at all.
      measured: `p99 ${c.p99_ms.toFixed(2)} ms, p50 ratio ${c.ratio?.toFixed(2)}x; the floor's own p99 ${metrics.get('floor_pg_create_c16').p99_ms.toFixed(2)} ms, p99 vs floor p99 ${(c.p99_ms / metrics.get('floor_pg_create_c16').p99_ms).toFixed(2)}x`,
    },
    {
      metric: 'list_1000',
      goal: 'p50 <= 20 ms and <= 2x its floor (pg SELECT + JSON, plus bare HTTP of the same bytes)',
      result: result(l.p50_ms <= 20 && ratio(l.ratio) <= 2),
      measured: `p50 ${l.p50_ms.toFixed(2)} ms, ratio ${l.ratio?.toFixed(2)}x`,
    },
    {
      metric: 'apply_1000_changed',
      goal: 'p50 <= 150 ms end to end with the fake CLI',
      result: result(a.p50_ms <= 150),
      measured: `p50 ${a.p50_ms.toFixed(1)} ms (p99 ${a.p99_ms.toFixed(1)} ms); the fake CLI's part ${metrics.get('apply_1000_changed_cli').p50_ms.toFixed(1)} ms, the portal's own share ${metrics.get('apply_1000_changed_own').p50_ms.toFixed(1)} ms`,
    },
  ];
}

/** Version and the settings that change what a create costs (commit fsync, vacuum). */
async function serverSettings(url: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'autovacuum')
       ORDER BY name`,
    );
    const get = (n: string): string => rows.find((r) => r.name === n)?.setting ?? '?';
    return `${get('server_version')} (fsync=${get('fsync')}, synchronous_commit=${get('synchronous_commit')}, autovacuum=${get('autovacuum')})`;
  } finally {
    await c.end();
  }
}

function autocannonVersion(): string {
  const file = require.resolve('autocannon/package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

process.on('exit', () => void killAllChildren());
process.on('SIGINT', () => abort('SIGINT'));
process.on('SIGTERM', () => abort('SIGTERM'));
setTimeout(
  () => abort(`still running after ${TIMEOUT_S} s (BENCH_TIMEOUT_S)`),
  TIMEOUT_S * 1000,
).unref();

main()
  .then(async (results) => {
    await tearDown();
    await writeResults(__dirname, results);
    process.stdout.write(
      `${renderText(results)}\n\nWrote bench/results.json and bench/RESULTS.md\n`,
    );
    log('done');
  })
  .catch(async (err: unknown) => {
    process.stderr.write(
      `\nBENCH FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    // The portal logs its errors at warn level and above: the cause of a 500 is in there.
    for (const c of cleanup.children) {
      const tail = c.output().trim().split('\n').slice(-10).join('\n');
      if (tail) process.stderr.write(`\nLast output of the ${c.name}:\n${tail}\n`);
    }
    await tearDown();
    process.exit(1);
  });
