import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import type { NodeOutcome } from './dto/apply.dto';
import { ApplyAuditLog, ApplyOutcome } from './entities/apply-audit-log.entity';
import { ApplyNodeState } from './entities/apply-node-state.entity';

const SUMMARY_LIMIT = 8000;

export interface FinishedApply {
  outcome: Exclude<ApplyOutcome, 'running'>;
  userCount: number;
  contentHash: string | null;
  durationMs: number;
  summary: string;
}

/**
 * Every query of the apply module: its audit trail and each node's state. The rows it renders are the users'
 * (UsersRepository.sipAccounts).
 */
@Injectable()
export class ApplyRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** Opens the audit row of an apply that starts now. */
  async startApply(entry: {
    id: string;
    startedAt: Date;
    requestId: string | null;
    actorType: 'key' | 'bootstrap' | null;
    actorId: string | null;
    actorName: string | null;
  }): Promise<void> {
    await this.txHost.tx.insert(ApplyAuditLog, {
      ...entry,
      outcome: 'running',
      userCount: 0,
      summary: 'started',
      finishedAt: null,
      contentHash: null,
      durationMs: null,
    });
  }

  async finishApply(id: string, result: FinishedApply): Promise<void> {
    const summary =
      result.summary.length > SUMMARY_LIMIT
        ? `${result.summary.slice(0, SUMMARY_LIMIT)}...`
        : result.summary;
    await this.txHost.tx.update(
      ApplyAuditLog,
      { id },
      { ...result, summary, finishedAt: new Date() },
    );
  }

  /**
   * Closes rows left `running` by an apply that could not record its outcome (its process
   * died or lost the database), in the caller's transaction (their rows lock until its end);
   * the rows as they were. Called only under the apply lock, when no apply runs.
   */
  async markInterrupted(): Promise<ApplyAuditLog[]> {
    const tx = this.txHost.tx;
    const rows = await tx.find(ApplyAuditLog, {
      where: { outcome: 'running' },
      lock: { mode: 'pessimistic_write' },
    });
    if (rows.length > 0) {
      await tx.update(
        ApplyAuditLog,
        { id: In(rows.map((r) => r.id)) },
        {
          outcome: 'failed',
          finishedAt: new Date(),
          summary:
            'interrupted: the portal stopped during this apply; the next apply rewrites the files',
        },
      );
    }
    return rows;
  }

  /** A page of the audit log, newest first, and how many rows there are in all. */
  async list(limit: number, offset: number): Promise<{ rows: ApplyAuditLog[]; total: number }> {
    const [rows, total] = await this.txHost.tx
      .getRepository(ApplyAuditLog)
      // id breaks ties, so a page boundary never repeats or skips a row of the same instant.
      .findAndCount({ order: { startedAt: 'DESC', id: 'DESC' }, take: limit, skip: offset });
    return { rows, total };
  }

  latest(): Promise<ApplyAuditLog | null> {
    return this.txHost.tx
      .getRepository(ApplyAuditLog)
      .findOne({ where: {}, order: { startedAt: 'DESC' } });
  }

  /** What every node last applied (rows of nodes no longer configured included). */
  nodeStates(): Promise<ApplyNodeState[]> {
    return this.txHost.tx.getRepository(ApplyNodeState).find({ order: { node: 'ASC' } });
  }

  /**
   * Records each node's outcome of apply `applyId`; a node that ends with the new config
   * (applied or unchanged, both verified) now has `hash`. In the caller's transaction.
   */
  async recordNodeOutcomes(
    applyId: string,
    hash: string | null,
    outcomes: { node: string; outcome: NodeOutcome }[],
  ): Promise<void> {
    const at = new Date();
    for (const { node, outcome } of outcomes) {
      const has = outcome === 'applied' || outcome === 'unchanged';
      await this.txHost.tx.query(
        `INSERT INTO "apply_node_state" AS s
           ("node", "applied_hash", "applied_apply_id", "applied_at", "last_outcome", "last_apply_id", "last_apply_at")
         VALUES ($1, $2, $3, $4, $5, $6, $8)
         ON CONFLICT ("node") DO UPDATE SET
           "applied_hash" = CASE WHEN $7 THEN EXCLUDED."applied_hash" ELSE s."applied_hash" END,
           "applied_apply_id" = CASE WHEN $7 THEN EXCLUDED."applied_apply_id" ELSE s."applied_apply_id" END,
           "applied_at" = CASE WHEN $7 THEN EXCLUDED."applied_at" ELSE s."applied_at" END,
           "last_outcome" = EXCLUDED."last_outcome",
           "last_apply_id" = EXCLUDED."last_apply_id",
           "last_apply_at" = EXCLUDED."last_apply_at"`,
        [node, has ? hash : null, has ? applyId : null, has ? at : null, outcome, applyId, has, at],
      );
    }
  }
}
