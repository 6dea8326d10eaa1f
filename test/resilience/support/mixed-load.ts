import type { Client } from 'pg';
import type { AsteriskSandbox } from '../../support/asterisk-sandbox';
import {
  bodiesOf,
  headerProblems,
  KINDS,
  readFiles,
  readLastGood,
  tempFiles,
} from './generated-files';
import { redactDigests } from '../../../src/apply/file-plan';
import { contentHash, stripHeader } from '../../../src/asterisk/generation/file-header';
import { call, describeReply, Reply, routeTable } from './http-client';
import { Random } from './random';

export interface LoadOptions {
  baseUrl: string;
  clients: number;
  durationMs: number;
  seed: number;
  /** Applies are serialized by the portal; more than this many waiting ones only idle clients. */
  maxAppliesInFlight?: number;
  /** Each client keeps at most this many users of its own, so the extension pool never runs out. */
  ownLimit?: number;
}

interface CreatedUser {
  id: string;
  email: string;
  extension: number;
  client: number;
}

export interface LoadResult {
  options: LoadOptions;
  replies: Reply[];
  /** Replies whose status the operation does not allow (5xx included). */
  unexpected: Reply[];
  created: Map<string, CreatedUser>;
  deleted: Set<string>;
  /** Problems seen in single responses, e.g. a page not ordered by extension. */
  responseProblems: string[];
  elapsedMs: number;
}

type Op = 'create' | 'list' | 'rotate' | 'delete' | 'apply';
const WEIGHTS: [Op, number][] = [
  ['create', 30],
  ['list', 25],
  ['rotate', 15],
  ['delete', 20],
  ['apply', 10],
];
const NAMES = ['Alice Smith', "Bob O'Neil", 'Zoë Ünal', 'Chen Wei', 'Ana-María (Ops)', 'R&D Desk'];

function pickOp(rng: Random): Op {
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [op, w] of WEIGHTS) {
    x -= w;
    if (x < 0) return op;
  }
  return 'list';
}

/**
 * `clients` concurrent loops, each doing create / list / rotate / delete / apply until the
 * deadline, with its own users (so deletes and rotations of them must succeed) and sometimes
 * a rotation of someone else's user taken from a listing (which may be gone: 404 allowed).
 */
export async function runMixedLoad(options: LoadOptions): Promise<LoadResult> {
  const { baseUrl, clients, durationMs } = options;
  const maxApplies = options.maxAppliesInFlight ?? 2;
  const ownLimit = options.ownLimit ?? 12;
  const replies: Reply[] = [];
  const unexpected: Reply[] = [];
  const created = new Map<string, CreatedUser>();
  const deleted = new Set<string>();
  const responseProblems: string[] = [];
  const seen: string[] = [];
  let appliesInFlight = 0;
  const t0 = Date.now();
  const deadline = t0 + durationMs;

  const record = (r: Reply, allowed: number[]): Reply => {
    replies.push(r);
    if (!allowed.includes(r.status)) unexpected.push(r);
    return r;
  };

  const client = async (n: number): Promise<void> => {
    const rng = new Random(options.seed + n * 7919);
    const own: CreatedUser[] = [];
    let seq = 0;
    while (Date.now() < deadline) {
      let op = pickOp(rng);
      if (op === 'create' && own.length >= ownLimit) op = 'delete';
      if ((op === 'delete' || op === 'rotate') && own.length === 0 && seen.length === 0) {
        op = 'create';
      }
      if (op === 'apply' && appliesInFlight >= maxApplies) op = 'list';

      switch (op) {
        case 'create': {
          seq++;
          const email = `c${n}-${seq}@load.example.com`;
          const r = record(
            await call(baseUrl, 'POST', '/users', {
              name: `${rng.pick(NAMES)} ${n}-${seq}`,
              email,
            }),
            [201],
          );
          if (r.status === 201) {
            const body = r.body as { id: string; extension: number };
            const user = { id: body.id, email, extension: body.extension, client: n };
            created.set(user.id, user);
            own.push(user);
            seen.push(user.id);
          }
          break;
        }
        case 'list': {
          const limit = rng.int(1, 100);
          const offset = rng.int(0, 40);
          const search = rng.next() < 0.2 ? `&search=${encodeURIComponent(`${n}-`)}` : '';
          const r = record(
            await call(baseUrl, 'GET', `/users?limit=${limit}&offset=${offset}${search}`),
            [200],
          );
          if (r.status === 200) {
            const { items, total } = r.body as {
              items: { id: string; extension: number }[];
              total: number;
            };
            for (let i = 1; i < items.length; i++) {
              if (items[i].extension <= items[i - 1].extension) {
                responseProblems.push(`page not ordered by extension: ${describeReply(r)}`);
                break;
              }
            }
            if (items.length > limit || (items.length > 0 && total < offset + items.length)) {
              responseProblems.push(`page size or total inconsistent: ${describeReply(r)}`);
            }
            for (const item of items.slice(0, 3)) seen.push(item.id);
            if (seen.length > 500) seen.splice(0, seen.length - 500);
          }
          break;
        }
        case 'rotate': {
          const mine = own.length > 0 && rng.next() < 0.7;
          const id = mine ? rng.pick(own).id : rng.pick(seen);
          const owned = own.some((u) => u.id === id);
          record(
            await call(baseUrl, 'POST', `/users/${id}/sip-password`),
            owned ? [200] : [200, 404],
          );
          break;
        }
        case 'delete': {
          if (own.length === 0) break;
          const i = rng.int(0, own.length - 1);
          const [user] = own.splice(i, 1);
          const r = record(await call(baseUrl, 'DELETE', `/users/${user.id}`), [204]);
          if (r.status === 204) deleted.add(user.id);
          break;
        }
        case 'apply': {
          appliesInFlight++;
          try {
            record(await call(baseUrl, 'POST', '/apply', undefined, 60_000), [200]);
          } finally {
            appliesInFlight--;
          }
          break;
        }
      }
    }
  };

  await Promise.all(Array.from({ length: clients }, (_, n) => client(n)));
  return {
    options,
    replies,
    unexpected,
    created,
    deleted,
    responseProblems,
    elapsedMs: Date.now() - t0,
  };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Verification {
  checks: Check[];
  /** The closing apply and dry run, reported beside the load's own requests. */
  closing: Reply[];
  applies: { total: number; success: number; failed: number; auditRows: number };
}

/**
 * Everything that must hold once the load has stopped: no server errors, every acknowledged
 * write in the database, no extension held twice, an audit row per apply, and files on disk
 * equal to what a fresh dry run generates after a final apply.
 */
export async function verifyAfterLoad(
  result: LoadResult,
  pg: Client,
  box: AsteriskSandbox,
  baseUrl: string,
): Promise<Verification> {
  const checks: Check[] = [];
  const check = (name: string, problems: string[], okDetail: string): void => {
    checks.push({
      name,
      ok: problems.length === 0,
      detail:
        problems.length === 0
          ? okDetail
          : `${problems.length} problem(s):\n      ${problems.slice(0, 20).join('\n      ')}`,
    });
  };
  const { replies, created, deleted } = result;

  const serverErrors = replies.filter((r) => r.status >= 500 || r.status === 0);
  check(
    'no 5xx and no dropped connection',
    serverErrors.map(describeReply),
    `0 of ${replies.length} requests`,
  );
  const clientErrors = result.unexpected.filter((r) => r.status > 0 && r.status < 500);
  check(
    'no unexpected 4xx (own users must be found)',
    clientErrors.map(describeReply),
    `0 of ${replies.length} requests`,
  );
  check(
    'every page ordered by extension, total consistent',
    result.responseProblems,
    `${replies.filter((r) => r.route === 'GET /users' && r.status === 200).length} pages`,
  );

  const { rows: users } = await pg.query<{ id: string; email: string; number: number | null }>(
    `SELECT u.id, u.email, e.number FROM "user" u LEFT JOIN extension e ON e.user_id = u.id`,
  );
  const inDb = new Map(users.map((u) => [u.id, u]));
  const persisted: string[] = [];
  let live = 0;
  for (const [id, user] of created) {
    const row = inDb.get(id);
    if (deleted.has(id)) {
      if (row) persisted.push(`user ${id} (${user.email}) was deleted (204) but is still there`);
      continue;
    }
    live++;
    if (!row) persisted.push(`user ${id} (${user.email}, 201) is not in the database`);
    else if (row.email !== user.email || row.number !== user.extension) {
      persisted.push(
        `user ${id}: 201 said ${user.email} ext ${user.extension}, database has ${row.email} ext ${row.number}`,
      );
    }
  }
  for (const id of inDb.keys()) {
    if (!created.has(id)) persisted.push(`user ${id} is in the database but no 201 created it`);
  }
  check(
    'every 201 user in the database unless deleted (204); no phantom users',
    persisted,
    `${created.size} created, ${deleted.size} deleted, ${live} live = ${inDb.size} in the database`,
  );

  const extensionProblems: string[] = [];
  const { rows: doubles } = await pg.query<{ number: number; n: string }>(
    'SELECT number, count(*) AS n FROM extension GROUP BY number HAVING count(*) > 1',
  );
  for (const d of doubles) extensionProblems.push(`extension ${d.number} held ${d.n} times`);
  const { rows: orphans } = await pg.query<{ n: string }>(
    `SELECT count(*) AS n FROM extension e LEFT JOIN "user" u ON u.id = e.user_id WHERE u.id IS NULL`,
  );
  if (Number(orphans[0].n) > 0)
    extensionProblems.push(`${orphans[0].n} extension(s) without a user`);
  const withoutExtension = users.filter((u) => u.number === null);
  if (withoutExtension.length) {
    extensionProblems.push(`${withoutExtension.length} user(s) without an extension`);
  }
  const liveNumbers = new Map<number, string>();
  for (const [id, user] of created) {
    if (deleted.has(id)) continue;
    const other = liveNumbers.get(user.extension);
    if (other)
      extensionProblems.push(`live users ${other} and ${id} were both given ${user.extension}`);
    liveNumbers.set(user.extension, id);
  }
  check(
    'no extension held twice',
    extensionProblems,
    `${users.length} extensions, all distinct, one per user`,
  );

  const applyReplies = replies.filter(
    (r) => r.route === 'POST /apply' && (r.status === 200 || r.status === 502),
  );
  const applyIds = new Set(applyReplies.map((r) => (r.body as { id: string }).id));
  const { rows: audit } = await pg.query<{ id: string; outcome: string }>(
    'SELECT id, outcome FROM apply_audit_log',
  );
  const auditProblems: string[] = [];
  const auditById = new Map(audit.map((a) => [a.id, a]));
  for (const r of applyReplies) {
    const { id, outcome } = r.body as { id: string; outcome: string };
    const row = auditById.get(id);
    if (!row) auditProblems.push(`apply ${id} (${r.status}) has no audit row`);
    else if (row.outcome !== outcome) {
      auditProblems.push(`apply ${id}: response ${outcome}, audit row ${row.outcome}`);
    }
  }
  for (const a of audit) {
    if (a.outcome === 'running') auditProblems.push(`audit row ${a.id} is still running`);
    if (!applyIds.has(a.id)) auditProblems.push(`audit row ${a.id} (${a.outcome}) has no response`);
  }
  if (audit.length !== applyReplies.length) {
    auditProblems.push(`${applyReplies.length} apply responses, ${audit.length} audit rows`);
  }
  check(
    'every apply (200/502) has its audit row, and nothing else does',
    auditProblems,
    `${applyReplies.length} responses = ${audit.length} audit rows, none running`,
  );

  const closing: Reply[] = [];
  const finalApply = await call(baseUrl, 'POST', '/apply', undefined, 60_000);
  closing.push(finalApply);
  const dry = await call(baseUrl, 'POST', '/apply?dryRun=true');
  closing.push(dry);
  const fileProblems: string[] = [];
  if (finalApply.status !== 200) fileProblems.push(`final apply: ${describeReply(finalApply)}`);
  const files = readFiles(box);
  fileProblems.push(...headerProblems('file', files));
  if (dry.status !== 200) fileProblems.push(`dry run: ${describeReply(dry)}`);
  else {
    const body = dry.body as {
      changed: boolean;
      users: number;
      files: { path: string; content: string; sha256: string }[];
    };
    if (body.changed) fileProblems.push('dry run after the final apply says changed: true');
    if (body.users !== inDb.size) {
      fileProblems.push(`dry run has ${body.users} users, the database ${inDb.size}`);
    }
    for (const [i, kind] of KINDS.entries()) {
      // A dry run shows the digests redacted; its sha256 pins the real body on disk.
      const onDisk = files[kind];
      if (
        onDisk === null ||
        body.files[i]?.content !== redactDigests(onDisk) ||
        body.files[i]?.sha256 !== contentHash(stripHeader(onDisk))
      ) {
        fileProblems.push(`${kind}: dry-run content differs from the file on disk`);
      }
    }
  }
  const lastGood = bodiesOf(readLastGood(box));
  const onDisk = bodiesOf(files);
  if (!lastGood || !onDisk || KINDS.some((k) => lastGood[k] !== onDisk[k])) {
    fileProblems.push('the last-good pair differs from the files on disk');
  }
  const temps = tempFiles(box);
  if (temps.length) fileProblems.push(`temp files left: ${temps.join(', ')}`);
  check(
    'files on disk = a fresh dry run after a final apply',
    fileProblems,
    `changed false, both files byte-equal to the dry run, headers valid, last-good equal, no temp files`,
  );

  const success = applyReplies.filter((r) => r.status === 200).length;
  return {
    checks,
    closing,
    applies: {
      total: applyReplies.length,
      success,
      failed: applyReplies.length - success,
      auditRows: audit.length,
    },
  };
}

/** The one block of closing figures: per route and status, applies, and the invariants. */
export function loadSummary(
  title: string,
  result: LoadResult,
  v: Verification,
  extra: string[] = [],
): string {
  const { replies, options } = result;
  const seconds = result.elapsedMs / 1000;
  const failed = v.checks.filter((c) => !c.ok).length;
  return [
    '',
    `===== ${title} =====`,
    `${options.clients} clients for ${seconds.toFixed(1)} s, seed ${options.seed}: ${replies.length} requests (${(replies.length / seconds).toFixed(0)}/s)`,
    '',
    routeTable(replies),
    '',
    'after the load:',
    routeTable(v.closing),
    '',
    `applies: ${v.applies.total} (${v.applies.success} success, ${v.applies.failed} failed), audit rows ${v.applies.auditRows}`,
    `users: ${result.created.size} created, ${result.deleted.size} deleted`,
    ...extra,
    `invariants: ${v.checks.length} checked, ${failed} violated`,
    ...v.checks.map((c) => `  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`),
    '='.repeat(title.length + 12),
    '',
  ].join('\n');
}
