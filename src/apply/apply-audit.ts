import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ApplyLogDto } from './dto/apply.dto';
import { ApplyAuditLog, ApplyOutcome } from './entities/apply-audit-log.entity';

const SUMMARY_LIMIT = 8000;

export function toApplyLogDto(row: ApplyAuditLog): ApplyLogDto {
  return {
    id: row.id,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
    outcome: row.outcome,
    users: row.userCount,
    hash: row.contentHash,
    durationMs: row.durationMs,
    summary: row.summary,
    requestId: row.requestId,
  };
}

/** The audit trail: a row is written when an apply starts and completed when it ends. */
@Injectable()
export class ApplyAudit {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async start(
    m: EntityManager,
    entry: { id: string; startedAt: Date; requestId: string | null },
  ): Promise<void> {
    await m.insert(ApplyAuditLog, {
      ...entry,
      outcome: 'running',
      userCount: 0,
      summary: 'started',
      finishedAt: null,
      contentHash: null,
      durationMs: null,
    });
  }

  async finish(
    m: EntityManager,
    id: string,
    result: {
      outcome: Exclude<ApplyOutcome, 'running'>;
      userCount: number;
      contentHash: string | null;
      durationMs: number;
      summary: string;
    },
  ): Promise<void> {
    const summary =
      result.summary.length > SUMMARY_LIMIT
        ? `${result.summary.slice(0, SUMMARY_LIMIT)}...`
        : result.summary;
    await m.update(ApplyAuditLog, { id }, { ...result, summary, finishedAt: new Date() });
  }

  /**
   * Closes rows left `running` by an apply that could not record its outcome (its process
   * died or lost the database). Called only under the apply lock, when no apply runs.
   */
  async markInterrupted(m: EntityManager): Promise<number> {
    const res = await m.update(
      ApplyAuditLog,
      { outcome: 'running' },
      {
        outcome: 'failed',
        finishedAt: new Date(),
        summary:
          'interrupted: the portal stopped during this apply; the next apply rewrites the files',
      },
    );
    return res.affected ?? 0;
  }

  async list(limit: number): Promise<ApplyLogDto[]> {
    const rows = await this.db.getRepository(ApplyAuditLog).find({
      order: { startedAt: 'DESC' },
      take: limit,
    });
    return rows.map(toApplyLogDto);
  }

  async latest(): Promise<ApplyAuditLog | null> {
    return this.db
      .getRepository(ApplyAuditLog)
      .findOne({ where: {}, order: { startedAt: 'DESC' } });
  }

  async lastSuccessHash(): Promise<string | null> {
    const row = await this.db.getRepository(ApplyAuditLog).findOne({
      where: { outcome: 'success' },
      order: { startedAt: 'DESC' },
    });
    return row?.contentHash ?? null;
  }
}
