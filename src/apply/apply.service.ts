import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createTwoFilesPatch } from 'diff';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  ALL_PARTS,
  AsteriskError,
  AsteriskReloader,
  ReloadParts,
} from '../asterisk/asterisk-reloader';
import {
  ConfigWriter,
  ConfigWriteError,
  FilePair,
  GeneratedFileKind,
  StagedFile,
} from '../asterisk/config-writer';
import { stripHeader, withHeader } from '../asterisk/generation/file-header';
import { renderConfig, RenderedConfig } from '../asterisk/render-config';
import { DomainError } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { ApplyAudit, toApplyLogDto } from './apply-audit';
import { ApplyLock } from './apply-lock';
import { ApplyFileDto, ApplyResultDto, ApplyStatusDto, DryRunResultDto } from './dto/apply.dto';
import { loadSipAccounts } from './sip-accounts.query';
import type { SipAccountRow } from '../asterisk/generation/types';

const KINDS: GeneratedFileKind[] = ['endpoints', 'routing'];

interface FilePlan {
  kind: GeneratedFileKind;
  path: string;
  current: string | null;
  next: string;
  changed: boolean;
  sha256: string;
}

function pairFrom(plan: FilePlan[], pick: (f: FilePlan) => string): FilePair {
  const of = (kind: GeneratedFileKind): string => pick(plan.find((f) => f.kind === kind)!);
  return { endpoints: of('endpoints'), routing: of('routing') };
}

/** The value of a settled promise, or its rejection thrown. */
function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Turns the database into Asterisk config: generate, write atomically, reload, verify, and
 * roll back to the last good files on any failure. Every apply leaves an audit row.
 */
@Injectable()
export class ApplyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApplyService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lock: ApplyLock,
    private readonly audit: ApplyAudit,
    private readonly writer: ConfigWriter,
    private readonly reloader: AsteriskReloader,
    private readonly config: PortalConfig,
  ) {}

  /**
   * Recovers from a crash mid-apply, but only when no apply runs in any process: removes temp
   * files, and if an apply was interrupted puts the last good pair of files back, so the two
   * files are never left from different applies. Asterisk is not reloaded (only an apply
   * does that); `GET /apply/status` shows the change as pending.
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.lock.tryRun(async (runner) => {
        const removed = await this.writer.removeStaleTempFiles();
        const interrupted = await this.audit.markInterrupted(runner.manager);
        let restored = 0;
        const good = interrupted > 0 ? await this.writer.readLastGood() : null;
        if (good) {
          for (const kind of KINDS) {
            if (good[kind] !== (await this.writer.read(kind))) {
              await this.writer.write(kind, good[kind]);
              restored++;
            }
          }
        }
        if (removed.length || interrupted) {
          this.logger.warn(
            `Recovered from an interrupted apply: removed ${removed.length} temp file(s), restored ${restored} file(s) to the last good version, closed ${interrupted} audit row(s)`,
          );
        }
      });
    } catch (err) {
      this.logger.warn(`Start-up recovery skipped: ${errorMessage(err)}`);
    }
  }

  apply(requestId: string | null): Promise<ApplyResultDto> {
    return this.lock.run((runner) => this.applyLocked(runner.manager, requestId));
  }

  async dryRun(): Promise<DryRunResultDto> {
    const [rendered, onDisk] = await Promise.all([
      this.render(this.db.manager),
      this.readCurrent(),
    ]);
    const plan = this.plan(rendered, onDisk, 'dry-run', new Date());
    return {
      dryRun: true,
      changed: plan.some((f) => f.changed),
      users: rendered.expected.endpoints.length,
      hash: rendered.hash,
      files: plan.map((f) => ({
        path: f.path,
        changed: f.changed,
        sha256: f.sha256,
        content: f.next,
        diff: f.changed ? createTwoFilesPatch(f.path, f.path, f.current ?? '', f.next) : '',
      })),
    };
  }

  async status(): Promise<ApplyStatusDto> {
    const [rendered, lastSuccess, latest] = await Promise.all([
      this.render(this.db.manager),
      this.audit.lastSuccessHash(),
      this.audit.latest(),
    ]);
    return {
      pending: rendered.hash !== lastSuccess,
      lastApply: latest ? toApplyLogDto(latest) : null,
    };
  }

  private async render(m: EntityManager): Promise<RenderedConfig> {
    return renderConfig(await loadSipAccounts(m), { context: this.config.sipContext });
  }

  /** Both generated files as they are on disk now (null: no such file). */
  private async readCurrent(): Promise<Record<GeneratedFileKind, string | null>> {
    const [endpoints, routing] = await Promise.all(KINDS.map((kind) => this.writer.read(kind)));
    return { endpoints, routing };
  }

  /** Per file: what is on disk, what an apply writes, and whether that differs. */
  private plan(
    rendered: RenderedConfig,
    onDisk: Record<GeneratedFileKind, string | null>,
    applyId: string,
    at: Date,
  ): FilePlan[] {
    return KINDS.map((kind) => {
      const current = onDisk[kind];
      const body = rendered.bodies[kind];
      // Same body: keep the file byte for byte (its header names the apply that wrote it).
      const changed = current === null || stripHeader(current) !== body;
      const next = changed
        ? withHeader(body, { applyId, generatedAt: at, contentHash: rendered.hashes[kind] })
        : current;
      return {
        kind,
        path: this.writer.pathOf(kind),
        current,
        next,
        changed,
        sha256: rendered.hashes[kind],
      };
    });
  }

  private async applyLocked(m: EntityManager, requestId: string | null): Promise<ApplyResultDto> {
    const id = randomUUID();
    const startedAt = new Date();
    const t0 = performance.now();
    const elapsed = (): number => Math.round(performance.now() - t0);
    await this.audit.markInterrupted(m);
    await this.audit.start(m, { id, startedAt, requestId });

    // The disk side (stale temp files, directory checks, what is on disk, the last good
    // pair) does not depend on the rows: it runs while the database answers.
    const disk = (async () => {
      // Side by side; a missing directory is reported by checkDirectories' own message.
      const [checked, removed, onDisk, saved] = await Promise.allSettled([
        this.writer.checkDirectories(),
        this.writer.removeStaleTempFiles(),
        this.readCurrent(),
        this.writer.readLastGood(),
      ]);
      settledValue(checked);
      settledValue(removed);
      return { onDisk: settledValue(onDisk), saved: settledValue(saved) };
    })();
    // Awaited below; meanwhile a failure must not go unhandled, and no exit path may leave it
    // running once the apply lock is released.
    const diskSettled = disk.then(
      () => undefined,
      () => undefined,
    );
    let rows: SipAccountRow[];
    try {
      rows = await loadSipAccounts(m);
    } catch (err) {
      await diskSettled;
      throw err;
    }
    const users = rows.length;
    let hash: string | null = null;
    const fail = async (
      outcome: 'failed' | 'rolled_back',
      reason: string,
      files: ApplyFileDto[],
      transcript: string[],
    ): Promise<never> => {
      await diskSettled;
      const durationMs = elapsed();
      await this.audit.finish(m, id, {
        outcome,
        userCount: users,
        contentHash: hash,
        durationMs,
        summary: [reason, ...transcript].join('\n'),
      });
      this.logger.error(`Apply ${id} ${outcome}: ${reason}`);
      throw new DomainError('APPLY_FAILED', reason, {
        id,
        outcome,
        users,
        hash,
        durationMs,
        files,
        reason,
      });
    };

    let rendered: RenderedConfig;
    try {
      rendered = renderConfig(rows, { context: this.config.sipContext });
      hash = rendered.hash;
    } catch (err) {
      // A row the generator refuses (it re-checks everything) must never reach Asterisk.
      return fail(
        'failed',
        `Nothing was written: could not generate the config: ${errorMessage(err)}`,
        [],
        [],
      );
    }
    const base = { id, users, hash: rendered.hash };

    let plan: FilePlan[];
    let saved: FilePair | null;
    try {
      const found = await disk;
      saved = found.saved;
      plan = this.plan(rendered, found.onDisk, id, startedAt);
    } catch (err) {
      return fail('failed', `Nothing was written: ${errorMessage(err)}`, [], []);
    }
    const files = plan.map((f) => ({ path: f.path, changed: f.changed, sha256: f.sha256 }));
    // Before the first successful apply, what is on disk now (or nothing: an empty file
    // loads no objects) is the version to come back to after a failure or a crash.
    const lastGood = saved ?? pairFrom(plan, (f) => f.current ?? '');
    if (!saved) {
      try {
        await this.writer.saveLastGood(lastGood);
      } catch (err) {
        return fail('failed', `Nothing was written: ${errorMessage(err)}`, files, []);
      }
    }

    const next = pairFrom(plan, (f) => f.next);
    const saveNext = next.endpoints !== lastGood.endpoints || next.routing !== lastGood.routing;
    let staged: Promise<StagedFile> | null = null;
    const transcript: string[] = [];
    try {
      // Side by side, but both settle before anything else touches the files.
      const writes = await Promise.allSettled(
        plan.filter((f) => f.changed).map((f) => this.writer.write(f.kind, f.next)),
      );
      for (const w of writes) settledValue(w);
      // The next last good pair is written and fsynced while Asterisk reloads; a verified
      // reload then only renames it into place.
      if (saveNext) {
        staged = this.writer.stageLastGood(next);
        staged.catch(() => undefined); // awaited below
      }
      transcript.push(...(await this.reloadAndVerify(plan, rendered)));
      if (staged) await (await staged).commit();
    } catch (err) {
      await staged?.then((s) => s.discard()).catch(() => undefined);
      if (err instanceof AsteriskError) transcript.push(...err.transcript);
      if (!(err instanceof AsteriskError || err instanceof ConfigWriteError)) throw err;
      const rollback = await this.rollback(plan, lastGood);
      return fail(
        rollback.ok ? 'rolled_back' : 'failed',
        `${errorMessage(err)}. ${rollback.summary}`,
        files,
        [...transcript, ...rollback.transcript],
      );
    }

    const durationMs = elapsed();
    await this.audit.finish(m, id, {
      outcome: 'success',
      userCount: users,
      contentHash: rendered.hash,
      durationMs,
      summary: transcript.join('\n'),
    });
    return { ...base, outcome: 'success', durationMs, files };
  }

  /**
   * Reloads only what changed (an unchanged file is already loaded: a PJSIP reload of 1,000
   * endpoints costs Asterisk about 0.2 s), then reads everything back. If the read-back fails
   * after a partial reload, Asterisk may not hold the unchanged file (edited by hand, or
   * loaded before a restart), so everything is reloaded once before judging.
   */
  private async reloadAndVerify(plan: FilePlan[], rendered: RenderedConfig): Promise<string[]> {
    const parts: ReloadParts = {
      pjsip: plan.some((f) => f.kind === 'endpoints' && f.changed),
      dialplan: plan.some((f) => f.kind === 'routing' && f.changed),
    };
    const transcript: string[] = [];
    // Keep what Asterisk said before a failure: the audit row shows the whole exchange.
    const run = async (step: () => Promise<string[]>): Promise<void> => {
      try {
        transcript.push(...(await step()));
      } catch (err) {
        if (err instanceof AsteriskError)
          throw new AsteriskError(err.message, [...transcript, ...err.transcript]);
        throw err;
      }
    };
    const verify = () => this.reloader.verify(rendered.expected, this.config.sipContext);
    await run(() => this.reloader.reload(parts));
    try {
      await run(verify);
    } catch (err) {
      if (parts.pjsip && parts.dialplan) throw err;
      transcript.push(
        `read-back after a partial reload failed (${errorMessage(err)}); reloading all`,
      );
      await run(() => this.reloader.reload(ALL_PARTS));
      await run(verify);
    }
    return transcript;
  }

  /**
   * Puts the last known good files back and reloads Asterisk with them.
   */
  private async rollback(
    plan: FilePlan[],
    lastGood: FilePair,
  ): Promise<{ ok: boolean; summary: string; transcript: string[] }> {
    let restored = 0;
    try {
      for (const f of plan) {
        const good = lastGood[f.kind];
        const onDisk = f.changed ? f.next : f.current;
        if (good === onDisk) continue;
        await this.writer.write(f.kind, good);
        restored++;
      }
    } catch (err) {
      return {
        ok: false,
        summary: `Restoring the last good files failed: ${errorMessage(err)}`,
        transcript: [],
      };
    }
    try {
      const transcript = await this.reloader.reload();
      return {
        ok: true,
        summary: `Rolled back: ${restored} file(s) restored to the last good version and Asterisk reloaded.`,
        transcript,
      };
    } catch (err) {
      return {
        ok: false,
        summary: `The last good files are back on disk (${restored} restored), but reloading Asterisk with them failed: ${errorMessage(err)}`,
        transcript: err instanceof AsteriskError ? err.transcript : [],
      };
    }
  }
}
