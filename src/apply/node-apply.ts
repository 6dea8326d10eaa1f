import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { ALL_PARTS, AsteriskError } from '../asterisk/asterisk-reloader';
import { ConfigWriteError, FilePair, GeneratedFileKind } from '../asterisk/config-writer';
import { contentHash, stripHeader } from '../asterisk/generation/file-header';
import type { NodeSession } from '../asterisk/nodes/asterisk-nodes';
import type { RenderedConfig } from '../asterisk/render-config';
import { SshError } from '../asterisk/transport/ssh-session';
import { failingChecks, preflightChecks } from './apply-checks';
import { ApplyFailure, errorMessage, timed } from './apply-run';
import type { FileOnDiskDto, NodeOutcome, NodeTimingsDto } from './dto/apply.dto';
import { FilePlan, KINDS, planFiles, samePair } from './file-plan';

/** What one node's apply did: its outcome, its files and where its time went. */
export interface NodeResult {
  name: string;
  outcome: NodeOutcome;
  /** Why the node failed, once; the message adds what was done about it. */
  reason?: string;
  failure?: ApplyFailure;
  timings: NodeTimingsDto;
  /** Connect to close, wall time. */
  durationMs: number;
  files: { node: string; path: string; changed: boolean; sha256: string }[];
  /** After a failure: the files on the node now (empty when the node could not be read). */
  filesOnDisk: FileOnDiskDto[];
  transcript: string[];
}

/** What an apply will write on one node, and the pair it comes back to if anything fails. */
interface NodePlan {
  files: FilePlan[];
  /** The last good pair on the node, or null before its first successful apply. */
  saved: FilePair | null;
  lastGood: FilePair;
  next: FilePair;
  before: FilePair;
}

export interface NodeApplyInput {
  node: AsteriskNodeConfig;
  rendered: RenderedConfig;
  applyId: string;
  startedAt: Date;
  sipContext: string;
  open: (node: AsteriskNodeConfig) => Promise<NodeSession>;
}

/** Errors that are the node's (its disk, its CLI, its SSH session), not the portal's own. */
const isNodeError = (err: unknown): boolean =>
  err instanceof AsteriskError || err instanceof ConfigWriteError || err instanceof SshError;

/**
 * One node's part of an apply, in named steps: connect, plan (read what is on the node),
 * write, reload, verify, then keep the new pair as the node's last good one, or roll back to
 * it. Never throws: every failure becomes the node's outcome.
 */
export async function applyToNode(input: NodeApplyInput): Promise<NodeResult> {
  const { node } = input;
  const result: NodeResult = {
    name: node.name,
    outcome: 'failed',
    timings: {
      connectMs: 0,
      planMs: 0,
      writeMs: 0,
      reloadMs: 0,
      reloadCliMs: 0,
      verifyMs: 0,
      verifyCliMs: 0,
      finishMs: 0,
    },
    durationMs: 0,
    files: [],
    filesOnDisk: [],
    transcript: [],
  };
  const t0 = performance.now();
  const time: Timer = (key, step) => timed(result.timings, key, step);
  let session: NodeSession;
  try {
    session = await time('connectMs', () => input.open(node));
  } catch (err) {
    failed(result, new ApplyFailure('failed', errorMessage(err), 'Nothing was written.'));
    result.durationMs = Math.round(performance.now() - t0);
    return result;
  }
  try {
    let plan: NodePlan;
    try {
      plan = await time('planMs', () => makePlan(session, input, result));
    } catch (err) {
      result.filesOnDisk = await filesOnDisk(session, null, node.name);
      return failed(result, new ApplyFailure('failed', errorMessage(err), 'Nothing was written.'));
    }
    try {
      await applyPlan(session, plan, input, result, time);
      const changed = plan.files.some((f) => f.changed);
      result.outcome = changed ? 'applied' : 'unchanged';
    } catch (err) {
      failed(result, err as ApplyFailure);
    }
    if (result.outcome === 'failed' || result.outcome === 'rolled_back') {
      result.filesOnDisk = await filesOnDisk(session, plan.before, node.name);
    }
    return result;
  } finally {
    await session.close().catch(() => undefined);
    result.durationMs = Math.round(performance.now() - t0);
  }
}

function failed(result: NodeResult, failure: ApplyFailure): NodeResult {
  result.outcome = failure.outcome === 'rolled_back' ? 'rolled_back' : 'failed';
  result.reason = failure.reason;
  result.failure = failure;
  return result;
}

/** Reads what is on the node; nothing is written. */
async function makePlan(
  { writer, reloader }: NodeSession,
  input: NodeApplyInput,
  result: NodeResult,
): Promise<NodePlan> {
  await writer.checkDirectories().catch(async (err: unknown) => {
    // A directory stops the apply here; the answer names every check that fails, as a dry
    // run lists them, so one fix is not followed by the next failure.
    const checks = await preflightChecks(writer, reloader, input.node, input.sipContext);
    throw new Error(failingChecks(checks) ?? errorMessage(err));
  });
  // Independent reads side by side: over SFTP each is a few round trips, and requests pipeline.
  const [, before, saved] = await Promise.all([
    writer.removeStaleTempFiles(),
    writer.readPair(),
    writer.readLastGood(),
  ]);
  const files = planFiles(input.rendered, before, (k) => writer.pathOf(k), {
    applyId: input.applyId,
    at: input.startedAt,
  });
  result.files = files.map((f) => ({
    node: input.node.name,
    path: f.path,
    changed: f.changed,
    sha256: f.sha256,
  }));
  const pairOf = (pick: (f: FilePlan) => string | null): FilePair => ({
    endpoints: pick(files[0]),
    routing: pick(files[1]),
  });
  // Before the node's first successful apply, what is on it now (no file where there is
  // none) is the version to come back to after a failure or a crash.
  const lastGood = saved ?? pairOf((f) => f.current);
  return { files, saved, lastGood, next: pairOf((f) => f.next), before };
}

type Timer = <T>(key: keyof NodeTimingsDto, step: () => Promise<T>) => Promise<T>;

/** Write, reload, verify and keep the new pair as last good; on any failure, roll back. */
async function applyPlan(
  session: NodeSession,
  plan: NodePlan,
  input: NodeApplyInput,
  result: NodeResult,
  time: Timer,
): Promise<void> {
  const { writer } = session;
  if (!plan.saved) {
    try {
      await writer.saveLastGood(plan.lastGood);
    } catch (err) {
      throw new ApplyFailure('failed', errorMessage(err), 'Nothing was written.');
    }
  }
  try {
    await time('writeMs', () =>
      writer.writeAll(
        plan.files.filter((f) => f.changed).map((f) => ({ kind: f.kind, content: f.next })),
      ),
    );
    await reloadAndVerify(session, plan, input, result, time);
    if (!samePair(plan.next, plan.lastGood)) {
      await time('finishMs', () => writer.saveLastGood(plan.next));
    }
  } catch (err) {
    if (err instanceof AsteriskError) result.transcript.push(...err.transcript);
    const rollback = await rollBack(session, plan, result, errorMessage(err));
    const reason = isNodeError(err) ? errorMessage(err) : `unexpected error: ${errorMessage(err)}`;
    throw new ApplyFailure(rollback.ok ? 'rolled_back' : 'failed', reason, rollback.summary);
  }
}

/**
 * Reloads only what changed (an unchanged file is already loaded: a PJSIP reload of 1,000
 * endpoints costs Asterisk about 0.25 s), then reads everything back. If the read-back fails
 * after a partial reload, Asterisk may not hold the unchanged file (edited by hand, or
 * loaded before a restart), so everything is reloaded once before judging.
 */
async function reloadAndVerify(
  { reloader }: NodeSession,
  plan: NodePlan,
  input: NodeApplyInput,
  result: NodeResult,
  time: Timer,
): Promise<void> {
  const changed = (kind: GeneratedFileKind): boolean =>
    plan.files.some((f) => f.kind === kind && f.changed);
  const parts = { pjsip: changed('endpoints'), dialplan: changed('routing') };
  const reload = (p = parts) =>
    time('reloadMs', async () => {
      const exchange = await reloader.reload(p);
      result.transcript.push(...exchange.transcript);
      result.timings.reloadCliMs += exchange.cliMs;
    });
  const verify = () =>
    time('verifyMs', async () => {
      const exchange = await reloader.verify(input.rendered.expected, input.sipContext);
      result.transcript.push(...exchange.transcript);
      result.timings.verifyCliMs += exchange.cliMs;
    });
  await reload();
  try {
    await verify();
  } catch (err) {
    if (parts.pjsip && parts.dialplan) throw err;
    if (err instanceof AsteriskError) result.transcript.push(...err.transcript);
    result.transcript.push(
      `read-back after a partial reload failed (${errorMessage(err)}); reloading all`,
    );
    await reload(ALL_PARTS);
    await verify();
  }
}

/**
 * Puts the node's last good files back and reloads its Asterisk with them; says what
 * happened, without repeating `cause` (the error that made the apply fail). Before the node's
 * first successful apply the last good pair is what was on it before: the directories end as
 * they were.
 */
async function rollBack(
  { writer, reloader }: NodeSession,
  plan: NodePlan,
  result: NodeResult,
  cause: string,
): Promise<{ ok: boolean; summary: string }> {
  let restored = 0;
  try {
    for (const f of plan.files) {
      const good = plan.lastGood[f.kind];
      if (good === (f.changed ? f.next : f.current)) continue;
      await writer.restore(f.kind, good);
      restored++;
    }
    if (!plan.saved) await writer.removeLastGood();
  } catch (err) {
    return { ok: false, summary: `Restoring the last good files failed: ${errorMessage(err)}` };
  }
  const back = plan.saved
    ? `the last good files are back on disk (${restored} restored)`
    : 'the include directories are as they were before this apply';
  try {
    result.transcript.push(...(await reloader.reload()).transcript);
  } catch (err) {
    if (err instanceof AsteriskError) result.transcript.push(...err.transcript);
    const why = errorMessage(err) === cause ? 'for the same reason' : `: ${errorMessage(err)}`;
    return {
      ok: false,
      summary: `${capitalize(back)}, but Asterisk could not be reloaded with them ${why}.`,
    };
  }
  return { ok: true, summary: `Rolled back: ${back}, and Asterisk reloaded.` };
}

/** After a failure, what each file on the node is now, and whether this apply changed it. */
async function filesOnDisk(
  { writer }: NodeSession,
  before: FilePair | null,
  node: string,
): Promise<FileOnDiskDto[]> {
  return Promise.all(
    KINDS.map(async (kind) => {
      const text = await writer.read(kind).catch(() => null);
      return {
        node,
        path: writer.pathOf(kind),
        changed: before !== null && text !== before[kind],
        sha256: text === null ? null : contentHash(stripHeader(text)),
      };
    }),
  );
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
