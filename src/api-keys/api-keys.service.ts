import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit-writer';
import { currentRequestContext } from '../common/access/request-context';
import { lacksScope } from '../common/access/scopes';
import { apiKeyNotFound, forbidden } from '../common/errors/domain-errors';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';
import { EventPublisher } from '../webhooks/event-publisher';
import { generateApiKey } from './api-key-secret';
import { toApiKeyDto, toCreatedApiKeyDto } from './api-key.mapper';
import { ApiKeysRepository } from './api-keys.repository';
import {
  ApiKeyListDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  ListApiKeysQueryDto,
} from './dto/api-key.dto';

/** API keys: created with a secret shown once, listed without it, revoked for good. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditWriter,
    private readonly events: EventPublisher,
  ) {}

  async create(dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    // keys:admin is not a way around the other scopes: a key grants only what it holds.
    const actor = currentRequestContext()?.actor;
    const missing = actor?.type === 'key' && dto.scopes.find((s) => !actor.scopes.includes(s));
    if (missing) throw forbidden(lacksScope(missing));
    const { key, prefix, hash } = generateApiKey();
    return this.txHost.withTransaction(async () => {
      const row = await this.keys.insert({
        tenantId: DEFAULT_TENANT_ID,
        name: dto.name,
        scopes: dto.scopes,
        prefix,
        keyHash: hash,
      });
      await this.audit.record({
        action: 'key.create',
        target: { type: 'api_key', id: row.id },
        changes: { before: null, after: { name: dto.name, scopes: dto.scopes, prefix } },
      });
      await this.events.publish('api_key.created', {
        apiKeyId: row.id,
        name: dto.name,
        scopes: dto.scopes,
        prefix,
      });
      return toCreatedApiKeyDto(row, key);
    });
  }

  async list(query: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    const { rows, total } = await this.keys.page(DEFAULT_TENANT_ID, query.limit, query.offset);
    return { items: rows.map(toApiKeyDto), total };
  }

  /** Revoked at once everywhere: every request looks its key up. Revoking again changes nothing. */
  revoke(id: string): Promise<void> {
    return this.txHost.withTransaction(async () => {
      const revoked = await this.keys.revoke(id, DEFAULT_TENANT_ID);
      if (!revoked) throw apiKeyNotFound(id);
      if (revoked.already) return;
      await this.audit.record({
        action: 'key.revoke',
        target: { type: 'api_key', id },
        changes: {
          before: { name: revoked.before.name, revokedAt: null },
          after: { name: revoked.before.name, revokedAt: revoked.revokedAt.toISOString() },
        },
      });
      await this.events.publish('api_key.revoked', {
        apiKeyId: id,
        name: revoked.before.name,
        scopes: revoked.before.scopes,
        prefix: revoked.before.prefix,
      });
    });
  }
}
