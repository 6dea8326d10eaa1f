import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

export class ApplyQueryDto {
  @ApiPropertyOptional({
    default: false,
    description: 'Generate and diff only: nothing is written and Asterisk is not reloaded',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun: boolean = false;
}

export class ApplyFileDto {
  @ApiProperty({ example: '/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf' })
  path!: string;

  @ApiProperty({ example: true, description: 'Whether this apply changed the file' })
  changed!: boolean;

  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
  sha256!: string;
}

/** Wall time of each step of a successful apply, and the part of it Asterisk's CLI took. */
export class ApplyTimingsDto {
  @ApiProperty({ example: 12, description: 'Load the users, render, read what is on disk' })
  planMs!: number;

  @ApiProperty({ example: 7, description: 'Write the changed files atomically (fsync, rename)' })
  writeMs!: number;

  @ApiProperty({ example: 230, description: 'Reload what changed' })
  reloadMs!: number;

  @ApiProperty({ example: 225, description: 'Of reloadMs, the time the Asterisk CLI took' })
  reloadCliMs!: number;

  @ApiProperty({ example: 45, description: "Read Asterisk's state back and compare it" })
  verifyMs!: number;

  @ApiProperty({ example: 40, description: 'Of verifyMs, the time the Asterisk CLI took' })
  verifyCliMs!: number;

  @ApiProperty({ example: 4, description: 'Keep the new pair as last good, close the audit row' })
  finishMs!: number;
}

export class ApplyResultDto {
  @ApiProperty({ format: 'uuid', description: 'Audit log id of this apply' })
  id!: string;

  @ApiProperty({ enum: ['success', 'failed', 'rolled_back'], example: 'success' })
  outcome!: 'success' | 'failed' | 'rolled_back';

  @ApiProperty({ example: 3, description: 'Users in the generated config' })
  users!: number;

  @ApiProperty({ example: 'a3f1...', description: 'SHA-256 over both generated bodies' })
  hash!: string;

  @ApiProperty({ example: 310 })
  durationMs!: number;

  @ApiProperty({ type: [ApplyFileDto] })
  files!: ApplyFileDto[];

  @ApiPropertyOptional({ type: ApplyTimingsDto, description: 'Where the time went (200 only)' })
  timings?: ApplyTimingsDto;

  @ApiPropertyOptional({ description: 'Why the apply failed (502 only)' })
  reason?: string;
}

export class DryRunFileDto extends ApplyFileDto {
  @ApiProperty({ description: 'The file as an apply would write it' })
  content!: string;

  @ApiProperty({ description: 'Unified diff from the file on disk; empty when unchanged' })
  diff!: string;
}

export class DryRunResultDto {
  @ApiProperty({ example: true })
  dryRun!: true;

  @ApiProperty({ example: true, description: 'Whether an apply would change any file' })
  changed!: boolean;

  @ApiProperty({ example: 3 })
  users!: number;

  @ApiProperty({ example: 'a3f1...' })
  hash!: string;

  @ApiProperty({ type: [DryRunFileDto] })
  files!: DryRunFileDto[];
}

export class ApplyLogsQueryDto {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(500)
  limit: number = 50;
}

export class ApplyLogDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  startedAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finishedAt!: string | null;

  @ApiProperty({ enum: ['running', 'success', 'failed', 'rolled_back'] })
  outcome!: string;

  @ApiProperty({ example: 3 })
  users!: number;

  @ApiProperty({ nullable: true, type: String })
  hash!: string | null;

  @ApiProperty({ nullable: true, type: Number })
  durationMs!: number | null;

  @ApiProperty({ description: 'What Asterisk printed, or the error' })
  summary!: string;

  @ApiProperty({ nullable: true, type: String })
  requestId!: string | null;
}

export class ApplyStatusDto {
  @ApiProperty({
    description: 'True when the database differs from what the last successful apply loaded',
  })
  pending!: boolean;

  @ApiProperty({ type: ApplyLogDto, nullable: true })
  lastApply!: ApplyLogDto | null;
}
