import { AuditEntryDto } from './dto/audit.dto';
import { ChangeAudit } from './entities/change-audit.entity';

export function toAuditEntryDto(row: ChangeAudit): AuditEntryDto {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actor: { type: row.actorType, id: row.actorId, name: row.actorName },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    changes: { before: row.changes.before, after: row.changes.after },
    requestId: row.requestId,
    clientAddress: row.clientAddress,
  };
}
