import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import type { SipAccountRow } from '../asterisk/generation/types';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { ApplyAuditLog, ApplyOutcome } from './entities/apply-audit-log.entity';

const SUMMARY_LIMIT = 8000;

export interface FinishedApply {
  outcome: Exclude<ApplyOutcome, 'running'>;
  userCount: number;
  contentHash: string | null;
  durationMs: number;
  summary: string;
}

/** Every query of the apply module: the rows it renders, and its audit trail. */
@Injectable()
export class ApplyRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** Everything the generators need, in one query, sorted by extension. */
  async loadSipAccounts(): Promise<SipAccountRow[]> {
    const rows: {
      extension: number;
      name: string;
      sip_username: string;
      realm: string;
      md5_digest: string;
      sha256_digest: string;
    }[] = await this.txHost.tx.query(
      `SELECT e.number AS extension, u.name, e.sip_username, e.realm, e.md5_digest, e.sha256_digest
       FROM extension e JOIN "user" u ON u.id = e.user_id
       WHERE e.tenant_id = $1
       ORDER BY e.number`,
      [DEFAULT_TENANT_ID],
    );
    return rows.map((r) => ({
      extension: r.extension,
      name: r.name,
      sipUsername: r.sip_username,
      realm: r.realm,
      md5Digest: r.md5_digest,
      sha256Digest: r.sha256_digest,
    }));
  }

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

  async lastSuccessHash(): Promise<string | null> {
    const row = await this.txHost.tx.getRepository(ApplyAuditLog).findOne({
      where: { outcome: 'success' },
      order: { startedAt: 'DESC' },
    });
    return row?.contentHash ?? null;
  }
}
