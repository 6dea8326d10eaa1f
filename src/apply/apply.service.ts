import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable, Logger } from '@nestjs/common';
import { AsteriskNodes } from '../asterisk/nodes/asterisk-nodes';
import { renderConfig, RenderedConfig } from '../asterisk/render-config';
import { AuditWriter } from '../audit/audit-writer';
import { currentRequestContext } from '../common/access/request-context';
import { DomainError } from '../common/errors/domain-errors';
import { PortalConfig } from '../config/portal-config.service';
import { PortalMetrics } from '../metrics/portal-metrics';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { UsersRepository } from '../users/users.repository';
import { EventPublisher } from '../webhooks/event-publisher';
import { ApplyInterruptions } from './apply-audit';
import { ApplyLock } from './apply-lock';
import { ApplyFailure, ApplyRun, asError, errorMessage } from './apply-run';
import { ApplyRepository } from './apply.repository';
import { ApplyNodeResultDto, ApplyResultDto } from './dto/apply.dto';
import { applyToNode, NodeResult } from './node-apply';

/**
 * Turns the database into Asterisk config: the users are loaded and rendered once, then every
 * node is written, reloaded and verified side by side (applyToNode), each rolled back to its
 * own last good files if it fails. Every apply leaves an audit row, closed in `finish` only.
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
    private readonly nodes: AsteriskNodes,
    private readonly config: PortalConfig,
    private readonly audit: AuditWriter,
    private readonly metrics: PortalMetrics,
    private readonly events: EventPublisher,
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
      const rendered = await run.time('planMs', () => this.render(run));
      run.nodes = await Promise.all(
        this.nodes.all.map((node) =>
          applyToNode({
            node,
            rendered,
            applyId: run.id,
            startedAt: run.startedAt,
            sipContext: this.config.sipContext,
            open: (n) => this.nodes.open(n),
          }),
        ),
      );
      run.addNodeTimings();
      failure = overallFailure(run.nodes);
    } catch (err) {
      failure =
        err instanceof ApplyFailure
          ? err
          : new ApplyFailure('failed', errorMessage(err), 'The apply stopped.', asError(err));
    }
    await run.time('finishMs', () => this.finish(run, failure));
    if (failure?.rethrow !== undefined) throw failure.rethrow;
    const nodes = run.nodes.map(toNodeDto);
    if (failure) {
      const { id, users, hash } = run;
      throw new DomainError('APPLY_FAILED', failure.message, {
        id,
        outcome: failure.outcome,
        users,
        hash,
        durationMs: run.durationMs,
        files: run.nodes.flatMap((n) => n.filesOnDisk),
        reason: failure.reason,
        nodes,
      });
    }
    return {
      id: run.id,
      outcome: 'success',
      users: run.users,
      hash: run.hash!,
      durationMs: run.durationMs,
      files: run.nodes.flatMap((n) => n.files),
      timings: run.timings,
      nodes,
    };
  }

  /** Loads and renders the users, once for every node; nothing is written. */
  private async render(run: ApplyRun): Promise<RenderedConfig> {
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
    return rendered;
  }

  /** The one place an apply's audit row is closed. */
  private async finish(run: ApplyRun, failure: ApplyFailure | null) {
    const durationMs = (run.durationMs = run.elapsed());
    const outcome = failure?.outcome ?? 'success';
    const transcript = run.nodes.flatMap((n) =>
      run.nodes.length === 1 ? n.transcript : n.transcript.map((line) => `${n.name}: ${line}`),
    );
    const nodeLines =
      run.nodes.length > 1 ? run.nodes.map((n) => `node ${n.name}: ${n.outcome}`) : [];
    // The outcome, each node's state and the change-audit row commit together. An apply is
    // recorded in both places on purpose: apply_audit_log is the apply's own state (the
    // 'running' row that crash recovery closes, GET /apply/logs), while change_audit is the
    // one who-changed-what trail across modules (GET /audit lists apply.run beside user and
    // key changes). One transaction keeps them in step.
    await this.txHost.withTransaction(async () => {
      await this.repo.finishApply(run.id, {
        outcome,
        userCount: run.users,
        contentHash: run.hash,
        durationMs,
        summary: [...(failure ? [failure.message] : []), ...nodeLines, ...transcript].join('\n'),
      });
      await this.repo.recordNodeOutcomes(
        run.id,
        run.hash,
        run.nodes.map((n) => ({ node: n.name, outcome: n.outcome })),
      );
      await this.audit.record({
        action: 'apply.run',
        target: { type: 'apply', id: run.id },
        changes: {
          before: null,
          after: {
            outcome,
            users: run.users,
            hash: run.hash,
            nodes: run.nodes.map((n) => ({ name: n.name, outcome: n.outcome })),
          },
        },
      });
      // Other services learn of the apply from the same transaction: no event without its row.
      await this.events.publish(outcome === 'success' ? 'apply.succeeded' : 'apply.failed', {
        applyId: run.id,
        outcome,
        users: run.users,
        nodes: run.nodes.map((n) => ({ name: n.name, outcome: n.outcome })),
      });
    });
    this.metrics.applyFinished(outcome, durationMs);
    for (const n of run.nodes) this.metrics.nodeApplyFinished(n.name, n.outcome, n.durationMs);
    if (failure) this.logger.error(`Apply ${run.id} ${failure.outcome}: ${failure.message}`);
    else {
      const t = run.timings;
      this.logger.log(
        `Apply ${run.id} succeeded in ${durationMs} ms for ${run.users} users on ${run.nodes.length} node(s): plan ${t.planMs}, write ${t.writeMs}, reload ${t.reloadMs} (Asterisk ${t.reloadCliMs}), verify ${t.verifyMs} (Asterisk ${t.verifyCliMs}) ms`,
      );
    }
  }
}

function toNodeDto(n: NodeResult): ApplyNodeResultDto {
  return {
    name: n.name,
    outcome: n.outcome,
    ...(n.reason !== undefined ? { reason: n.reason } : {}),
    timings: n.timings,
  };
}

/**
 * The apply's failure, or null when every node has the new config. With one node the
 * answer is that node's, as it always was; with several it names each failed node.
 */
function overallFailure(nodes: NodeResult[]): ApplyFailure | null {
  const bad = nodes.filter((n) => n.outcome === 'failed' || n.outcome === 'rolled_back');
  if (bad.length === 0) return null;
  if (nodes.length === 1) {
    return bad[0].failure!;
  }
  const good = nodes.filter((n) => !bad.includes(n));
  const outcome =
    good.length > 0
      ? 'partial'
      : bad.every((n) => n.outcome === 'rolled_back')
        ? 'rolled_back'
        : 'failed';
  const reason = bad.map((n) => `${n.name}: ${(n.reason ?? '').replace(/\.$/, '')}`).join('; ');
  const done =
    good.length > 0
      ? `Applied on ${good.map((n) => n.name).join(', ')}; ${bad.map((n) => `${n.name} ${n.outcome === 'rolled_back' ? 'rolled back' : 'failed'}`).join(', ')}.`
      : bad.map((n) => `${n.name}: ${n.failure?.message ?? n.outcome}`).join(' ');
  return new ApplyFailure(outcome, reason, done);
}
