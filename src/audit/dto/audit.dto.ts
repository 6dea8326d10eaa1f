import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageLimit, PageOffset } from '../../common/validation/query-params';
import { SingleValue } from '../../common/validation/validators';
import { AUDIT_ACTIONS } from '../audit-actions';

export const MAX_AUDIT_PAGE = 500;
export const MAX_AUDIT_OFFSET = 1_000_000;

const DATE_TIME = '$property must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z';

export class AuditQueryDto {
  @ApiPropertyOptional({
    maxLength: 100,
    example: 'bootstrap',
    description: "An API key's id, or an actor name (`bootstrap`, or a key's name)",
  })
  @IsOptional()
  @SingleValue()
  @IsString({ message: '$property must be a string' })
  @MaxLength(100, { message: '$property must be at most 100 characters' })
  @Matches(/^[^\p{Cc}\p{Cs}]+$/u, {
    message: '$property must not be empty or contain control characters or unpaired surrogates',
  })
  actor?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, example: 'user.delete' })
  @IsOptional()
  @SingleValue()
  @IsIn(AUDIT_ACTIONS, { message: `$property must be one of ${AUDIT_ACTIONS.join(', ')}` })
  action?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The id of the changed user, key or apply' })
  @IsOptional()
  @SingleValue()
  @IsUUID('all', { message: '$property must be a UUID' })
  targetId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Rows at or after this instant' })
  @IsOptional()
  @SingleValue()
  @IsISO8601({ strict: true, strictSeparator: true }, { message: DATE_TIME })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Rows at or before this instant' })
  @IsOptional()
  @SingleValue()
  @IsISO8601({ strict: true, strictSeparator: true }, { message: DATE_TIME })
  until?: string;

  @PageLimit(MAX_AUDIT_PAGE, 50)
  limit: number = 50;

  @PageOffset(MAX_AUDIT_OFFSET, 'Rows to skip, newest first')
  offset: number = 0;
}

export class AuditActorDto {
  @ApiProperty({
    enum: ['key', 'bootstrap', 'system'],
    description: 'system: the portal itself (a webhook disabled by its receiver’s 410 Gone)',
  })
  type!: 'key' | 'bootstrap' | 'system';

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: "The key's id; null for the bootstrap token and the system",
  })
  id!: string | null;

  @ApiProperty({ example: 'billing', description: "The key's name, or `bootstrap`" })
  name!: string;
}

export class AuditTargetDto {
  @ApiProperty({ enum: ['user', 'users', 'apply', 'api_key'], example: 'user' })
  type!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  id!: string | null;
}

export class AuditChangesDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The non-secret fields before the change; null for a creation',
  })
  before!: Record<string, unknown> | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The non-secret fields after the change; null for a deletion',
  })
  after!: Record<string, unknown> | null;
}

export class AuditEntryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time', description: 'When the change was committed' })
  at!: string;

  @ApiProperty({ type: AuditActorDto })
  actor!: AuditActorDto;

  @ApiProperty({ enum: AUDIT_ACTIONS, example: 'user.delete' })
  action!: string;

  @ApiProperty({ type: AuditTargetDto })
  target!: AuditTargetDto;

  @ApiProperty({ type: AuditChangesDto })
  changes!: AuditChangesDto;

  @ApiProperty({ nullable: true, type: String, description: 'X-Request-Id of the change' })
  requestId!: string | null;

  @ApiProperty({ nullable: true, type: String, example: '10.0.0.5' })
  clientAddress!: string | null;
}

export class AuditListDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' })
  items!: AuditEntryDto[];

  @ApiProperty({ type: 'integer', example: 1, description: 'Rows matching, before limit/offset' })
  total!: number;
}
