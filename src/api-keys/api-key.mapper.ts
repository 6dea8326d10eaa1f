import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { ApiKey } from './entities/api-key.entity';

export function toApiKeyDto(row: ApiKey): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt ? row.lastUsedAt.toISOString() : null,
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

export function toCreatedApiKeyDto(row: ApiKey, key: string): CreatedApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    key,
    createdAt: row.createdAt.toISOString(),
  };
}
