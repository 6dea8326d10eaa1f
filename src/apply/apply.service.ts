import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable, Logger } from '@nestjs/common';
import { ALL_PARTS, AsteriskError, AsteriskReloader } from '../asterisk/asterisk-reloader';
import {
  ConfigWriter,
  ConfigWriteError,
  FilePair,
  GeneratedFileKind,
} from '../asterisk/config-writer';
import { contentHash, stripHeader } from '../asterisk/generation/file-header';
import { renderConfig, RenderedConfig } from '../asterisk/render-config';
import { AuditWriter } from '../audit/audit-writer';
import { currentRequestContext } from '../common/access/request-context';
import { DomainError } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { ApplyInterruptions } from './apply-audit';
import { failingChecks, preflightChecks } from './apply-checks';
import { PortalMetrics } from '../metrics/portal-metrics';
import { ApplyFailure, ApplyRun, asError, errorMessage } from './apply-run';
import { ApplyLock } from './apply-lock';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { ApplyRepository } from './apply.repository';
import { ApplyResultDto, FileOnDiskDto } from './dto/apply.dto';
import { FilePlan, KINDS, planFiles, samePair } from './file-plan';

/** What an apply will write, and the pair it comes back to if anything fails. */
interface Plan {
  rendered: RenderedConfig;
  files: FilePlan[];
  /** The last good pair on disk, or null before the first successful apply. */
  saved: FilePair | null;
  lastGood: FilePair;
  next: FilePair;
}

/**
 * Turns the database into Asterisk config in named steps, one after the other: plan (load,
 * render, read what is on disk), write, reload, verify, then keep the new pair as the last
 * good one, or roll back to it. Every apply leaves an audit row, closed in `finish` only.
 */
@Injectable()
export class ApplyService {
  private readonly logger = new Logger(ApplyService.name);

  constructor(
    private readonly lock: ApplyLock,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly repo: ApplyRepository,
    private readonly users: UsersRepository,
    private readonly interruptions: ApplyInterruptions,
    private readonly writer: ConfigWriter,
    private readonly reloader: AsteriskReloader,
    private readonly config: PortalConfig,
    private readonly audit: AuditWriter,
    private readonly metrics: PortalMetrics,
  ) {}

  apply(requestId: string | null): Promise<ApplyResultDto> {
    return this.lock.run(() => this.applyLocked(requestId));
  }

  private async applyLocked(requestId: string | null): Promise<ApplyResultDto> {
    const run = new ApplyRun();
    await this.interruptions.close();
    const actor = currentRequestContext()?.actor;
    // In no transaction: the 'running' row commits now, so a crash mid-apply leaves it for
    // the recovery to close.
    await this.repo.startApply({
      id: run.id,
      startedAt: run.startedAt,
      requestId,
      actorType: actor?.type ?? null,
      actorId: actor?.id ?? null,
      actorName: actor?.name ?? null,
    });
    let failure: ApplyFailure | null = null;
    try {
      const plan = await run.time('planMs', () => this.plan(run));
      await this.applyPlan(plan, run);
    } catch (err) {
      failure =
        err instanceof ApplyFailure
          ? err
          : new ApplyFailure('failed', errorMessage(err), 'The apply stopped.', asError(err));
    }
    await run.time('finishMs', () => this.finish(run, failure));
    if (failure?.rethrow !== undefined) throw failure.rethrow;
    if (failure) {
      const { id, users, hash } = run;
      throw new DomainError('APPLY_FAILED', failure.message, {
        id,
        outcome: failure.outcome,
        users,
        hash,
        durationMs: run.durationMs,
        files: await this.filesOnDisk(run),
        reason: failure.reason,
      });
    }
    return {
      id: run.id,
      outcome: 'success',
      users: run.users,
      hash: run.hash!,
      durationMs: run.durationMs,
      files: run.files,
      timings: run.timings,
    };
  }

  /** Loads and renders the users and reads what is on disk; nothing is written. */
  private async plan(run: ApplyRun): Promise<Plan> {
    const nothingWritten = (what: string, err: unknown, rethrow?: Error): ApplyFailure =>
      new ApplyFailure('failed', `${what}${errorMessage(err)}`, 'Nothing was written.', rethrow);
    let rows;
    try {
      rows = await this.users.sipAccounts(DEFAULT_TENANT_ID);
    } catch (err) {
      // A database failure: its own error answers the request (503, or 500 with no internals).
      throw nothingWritten('Could not load the users: ', err, asError(err));
    }
    run.users = rows.length;
    let rendered: RenderedConfig;
    try {
      rendered = renderConfig(rows, this.config.generation);
    } catch (err) {
      // A row the generator refuses (it re-checks everything) must never reach Asterisk.
      throw nothingWritten('Could not generate the config: ', err);
    }
    run.hash = rendered.hash;
    let onDisk: FilePair;
    let saved: FilePair | null;
    try {
      await this.writer.checkDirectories().catch(async (err: unknown) => {
        // A directory stops the apply here; the answer names every check that fails, as a dry
        // run lists them, so one fix is not followed by the next failure.
        const checks = await preflightChecks(this.writer, this.reloader, this.config);
        throw new Error(failingChecks(checks) ?? errorMessage(err));
      });
      await this.writer.removeStaleTempFiles();
      onDisk = await this.writer.readPair();
      saved = await this.writer.readLastGood();
    } catch (err) {
      throw nothingWritten('', err);
    }
    run.before = onDisk;
    const files = planFiles(rendered, onDisk, (k) => this.writer.pathOf(k), {
      applyId: run.id,
      at: run.startedAt,
    });
    run.files = files.map((f) => ({ path: f.path, changed: f.changed, sha256: f.sha256 }));
    const pairOf = (pick: (f: FilePlan) => string | null): FilePair => ({
      endpoints: pick(files[0]),
      routing: pick(files[1]),
    });
    // Before the first successful apply, what is on disk now (no file where there is none) is
    // the version to come back to after a failure or a crash.
    const lastGood = saved ?? pairOf((f) => f.current);
    return { rendered, files, saved, lastGood, next: pairOf((f) => f.next) };
  }

  /** Write, reload, verify and keep the new pair as last good; on any failure, roll back. */
  private async applyPlan(plan: Plan, run: ApplyRun): Promise<void> {
    if (!plan.saved) {
      try {
        await this.writer.saveLastGood(plan.lastGood);
      } catch (err) {
        throw new ApplyFailure('failed', errorMessage(err), 'Nothing was written.');
      }
    }
    try {
      await run.time('writeMs', () => this.write(plan));
      await this.reloadAndVerify(plan, run);
      if (!samePair(plan.next, plan.lastGood)) {
        await run.time('finishMs', () => this.writer.saveLastGood(plan.next));
      }
    } catch (err) {
      if (err instanceof AsteriskError) run.transcript.push(...err.transcript);
      const known = err instanceof AsteriskError || err instanceof ConfigWriteError;
      const rollback = await this.rollback(plan, run, errorMessage(err));
      throw new ApplyFailure(
        rollback.ok ? 'rolled_back' : 'failed',
        errorMessage(err),
        rollback.summary,
        known ? undefined : asError(err),
      );
    }
  }

  private async write(plan: Plan): Promise<void> {
    for (const f of plan.files) if (f.changed) await this.writer.write(f.kind, f.next);
  }

  /**
   * Reloads only what changed (an unchanged file is already loaded: a PJSIP reload of 1,000
   * endpoints costs Asterisk about 0.25 s), then reads everything back. If the read-back fails
   * after a partial reload, Asterisk may not hold the unchanged file (edited by hand, or
   * loaded before a restart), so everything is reloaded once before judging.
   */
  private async reloadAndVerify(plan: Plan, run: ApplyRun): Promise<void> {
    const changed = (kind: GeneratedFileKind): boolean =>
      plan.files.some((f) => f.kind === kind && f.changed);
    const parts = { pjsip: changed('endpoints'), dialplan: changed('routing') };
    const reload = (p = parts) =>
      run.time('reloadMs', async () => run.record('reloadCliMs', await this.reloader.reload(p)));
    const verify = () =>
      run.time('verifyMs', async () =>
        run.record(
          'verifyCliMs',
          await this.reloader.verify(plan.rendered.expected, this.config.sipContext),
        ),
      );
    await reload();
    try {
      await verify();
    } catch (err) {
      if (parts.pjsip && parts.dialplan) throw err;
      if (err instanceof AsteriskError) run.transcript.push(...err.transcript);
      run.transcript.push(
        `read-back after a partial reload failed (${errorMessage(err)}); reloading all`,
      );
      await reload(ALL_PARTS);
      await verify();
    }
  }

  /**
   * Puts the last good files back and reloads Asterisk with them; says what happened, without
   * repeating `cause` (the error that made the apply fail). Before the first successful apply
   * the last good pair is what was on disk before it: the directories end as they were.
   */
  private async rollback(
    plan: Plan,
    run: ApplyRun,
    cause: string,
  ): Promise<{ ok: boolean; summary: string }> {
    let restored = 0;
    try {
      for (const f of plan.files) {
        const good = plan.lastGood[f.kind];
        if (good === (f.changed ? f.next : f.current)) continue;
        await this.writer.restore(f.kind, good);
        restored++;
      }
      if (!plan.saved) await this.writer.removeLastGood();
    } catch (err) {
      return { ok: false, summary: `Restoring the last good files failed: ${errorMessage(err)}` };
    }
    const back = plan.saved
      ? `the last good files are back on disk (${restored} restored)`
      : 'the include directories are as they were before this apply';
    try {
      run.transcript.push(...(await this.reloader.reload()).transcript);
    } catch (err) {
      if (err instanceof AsteriskError) run.transcript.push(...err.transcript);
      const why = errorMessage(err) === cause ? 'for the same reason' : `: ${errorMessage(err)}`;
      return {
        ok: false,
        summary: `${capitalize(back)}, but Asterisk could not be reloaded with them ${why}.`,
      };
    }
    return { ok: true, summary: `Rolled back: ${back}, and Asterisk reloaded.` };
  }

  /** After a failure, what each file on disk is now, and whether this apply changed it. */
  private async filesOnDisk(run: ApplyRun): Promise<FileOnDiskDto[]> {
    return Promise.all(
      KINDS.map(async (kind) => {
        const text = await this.writer.read(kind).catch(() => null);
        return {
          path: this.writer.pathOf(kind),
          changed: run.before !== null && text !== run.before[kind],
          sha256: text === null ? null : contentHash(stripHeader(text)),
        };
      }),
    );
  }

  /** The one place an apply's audit row is closed. */
  private async finish(run: ApplyRun, failure: ApplyFailure | null) {
    const durationMs = (run.durationMs = run.elapsed());
    const outcome = failure?.outcome ?? 'success';
    // The outcome and its change-audit row commit together. An apply is recorded in both
    // places on purpose: apply_audit_log is the apply's own state (the 'running' row that
    // crash recovery closes, the hash that tells what is pending, GET /apply/logs), while
    // change_audit is the one who-changed-what trail across modules (GET /audit lists
    // apply.run beside user and key changes). One transaction keeps them in step.
    await this.txHost.withTransaction(async () => {
      await this.repo.finishApply(run.id, {
        outcome,
        userCount: run.users,
        contentHash: run.hash,
        durationMs,
        summary: (failure ? [failure.message, ...run.transcript] : run.transcript).join('\n'),
      });
      await this.audit.record({
        action: 'apply.run',
        target: { type: 'apply', id: run.id },
        changes: { before: null, after: { outcome, users: run.users, hash: run.hash } },
      });
    });
    this.metrics.applyFinished(outcome, durationMs);
    if (failure) this.logger.error(`Apply ${run.id} ${failure.outcome}: ${failure.message}`);
    else {
      const t = run.timings;
      this.logger.log(
        `Apply ${run.id} succeeded in ${durationMs} ms for ${run.users} users: plan ${t.planMs}, write ${t.writeMs}, reload ${t.reloadMs} (Asterisk ${t.reloadCliMs}), verify ${t.verifyMs} (Asterisk ${t.verifyCliMs}) ms`,
      );
    }
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
