import { Injectable } from '@nestjs/common';
import { badRequest } from '../common/errors/domain-errors';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { toAuditEntryDto } from './audit.mapper';
import { AuditRepository } from './audit.repository';
import { AuditListDto, AuditQueryDto } from './dto/audit.dto';

/** Reads the change audit; rows are written only by AuditWriter, inside each change. */
@Injectable()
export class AuditService {
  constructor(private readonly repo: AuditRepository) {}

  async list(query: AuditQueryDto): Promise<AuditListDto> {
    const since = query.since === undefined ? null : new Date(query.since);
    const until = query.until === undefined ? null : new Date(query.until);
    if (since && until && since > until) {
      throw badRequest('since must not be after until');
    }
    const { rows, total } = await this.repo.page(
      {
        tenantId: DEFAULT_TENANT_ID,
        actor: query.actor ?? null,
        action: query.action ?? null,
        targetId: query.targetId ?? null,
        since,
        until,
      },
      query.limit,
      query.offset,
    );
    return { items: rows.map(toAuditEntryDto), total };
  }
}
