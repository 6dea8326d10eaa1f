import { ApplyLogDto } from './dto/apply.dto';
import { ApplyAuditLog } from './entities/apply-audit-log.entity';

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
    actor: row.actorType
      ? { type: row.actorType, id: row.actorId, name: row.actorName ?? '' }
      : null,
  };
}
