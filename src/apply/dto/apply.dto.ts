import { ApiProperty, ApiPropertyOptional, getSchemaPath, SchemaObject } from '@nestjs/swagger';
import { AuditActorDto } from '../../audit/dto/audit.dto';
import { BooleanQueryParam, PageLimit, PageOffset } from '../../common/validation/query-params';

/** A SHA-256 in hex, as the files and the audit log name content. */
const SHA256 = { pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 } as const;
const SHA256_EXAMPLE = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The null of a nullable object, as a oneOf branch of its own. */
const NULL_SCHEMA: SchemaObject = { type: 'object', nullable: true, enum: [null] };

export class ApplyQueryDto {
  @ApiPropertyOptional({
    default: false,
    description:
      'true: generate and diff only, nothing is written and Asterisk is not reloaded. Only `true` and `false` are accepted.',
  })
  @BooleanQueryParam()
  dryRun: boolean = false;
}

export class ApplyFileDto {
  @ApiProperty({ example: 'local', description: 'The node this file is on' })
  node!: string;

  @ApiProperty({ example: '/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf' })
  path!: string;

  @ApiProperty({ example: true, description: 'Whether this apply changed the file' })
  changed!: boolean;

  @ApiProperty({
    ...SHA256,
    example: SHA256_EXAMPLE,
    description: 'SHA-256 of the generated body (the file without its header)',
  })
  sha256!: string;
}

/** A generated file as a failed apply left it. */
export class FileOnDiskDto {
  @ApiProperty({ example: 'local', description: 'The node this file is on' })
  node!: string;

  @ApiProperty({ example: '/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf' })
  path!: string;

  @ApiProperty({
    example: false,
    description: 'Whether the file differs from before this apply (false after a rollback)',
  })
  changed!: boolean;

  @ApiProperty({
    ...SHA256,
    type: String,
    nullable: true,
    example: SHA256_EXAMPLE,
    description: 'SHA-256 of the body on disk now (the file without its header); null: no file',
  })
  sha256!: string | null;
}

/** Wall time of each step of a successful apply, and the part of it Asterisk's CLI took. */
export class ApplyTimingsDto {
  @ApiProperty({
    type: 'integer',
    example: 12,
    description: 'Load the users, render, read what is on disk',
  })
  planMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 7,
    description: 'Write the changed files atomically (fsync, rename)',
  })
  writeMs!: number;

  @ApiProperty({ type: 'integer', example: 230, description: 'Reload what changed' })
  reloadMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 225,
    description: 'Of reloadMs, the time the Asterisk CLI took',
  })
  reloadCliMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 45,
    description: "Read Asterisk's state back and compare it",
  })
  verifyMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 40,
    description: 'Of verifyMs, the time the Asterisk CLI took',
  })
  verifyCliMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 4,
    description: 'Keep the new pair as last good, close the audit row',
  })
  finishMs!: number;
}

export const NODE_OUTCOMES = ['applied', 'unchanged', 'rolled_back', 'failed'] as const;
export type NodeOutcome = (typeof NODE_OUTCOMES)[number];

/** Wall time of each step of one node's apply, and the part of it its Asterisk CLI took. */
export class NodeTimingsDto {
  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Connect (an SSH session; 0 for the local node)',
  })
  connectMs!: number;

  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'Check the directories, read the files on the node',
  })
  planMs!: number;

  @ApiProperty({ type: 'integer', example: 7 })
  writeMs!: number;

  @ApiProperty({ type: 'integer', example: 230 })
  reloadMs!: number;

  @ApiProperty({ type: 'integer', example: 225 })
  reloadCliMs!: number;

  @ApiProperty({ type: 'integer', example: 45 })
  verifyMs!: number;

  @ApiProperty({ type: 'integer', example: 40 })
  verifyCliMs!: number;

  @ApiProperty({ type: 'integer', example: 2, description: 'Keep the new pair as last good' })
  finishMs!: number;
}

/** What an apply did on one node. */
export class ApplyNodeResultDto {
  @ApiProperty({ example: 'pbx-a' })
  name!: string;

  @ApiProperty({
    enum: NODE_OUTCOMES,
    example: 'applied',
    description:
      'applied: the new config is loaded and verified; unchanged: the node already had it (verified); rolled_back: the node failed and is back on its last good files; failed: nothing was written, or the rollback failed too',
  })
  outcome!: NodeOutcome;

  @ApiPropertyOptional({ description: 'Why the node failed; absent when it did not' })
  reason?: string;

  @ApiProperty({ type: NodeTimingsDto })
  timings!: NodeTimingsDto;
}

export class ApplyResultDto {
  @ApiProperty({ format: 'uuid', description: 'Audit log id of this apply' })
  id!: string;

  @ApiProperty({ enum: ['success'], example: 'success' })
  outcome!: 'success';

  @ApiProperty({ type: 'integer', example: 3, description: 'Users in the generated config' })
  users!: number;

  @ApiProperty({ ...SHA256, example: SHA256_EXAMPLE, description: 'SHA-256 over both bodies' })
  hash!: string;

  @ApiProperty({ type: 'integer', example: 310 })
  durationMs!: number;

  @ApiProperty({ type: [ApplyFileDto], description: 'Both files of every node' })
  files!: ApplyFileDto[];

  @ApiProperty({
    type: ApplyTimingsDto,
    description:
      'Where the time went; the nodes run side by side, so each node step is the slowest node',
  })
  timings!: ApplyTimingsDto;

  @ApiProperty({ type: [ApplyNodeResultDto], description: 'Every node, each verified' })
  nodes!: ApplyNodeResultDto[];
}

/**
 * The 502 of a real apply: the error body every route gives, plus what the apply did.
 * Flat rather than allOf of the error body, so a client generator makes one plain type.
 */
export class ApplyFailedDto {
  @ApiProperty({ type: 'integer', enum: [502], example: 502 })
  statusCode!: number;

  @ApiProperty({ enum: ['APPLY_FAILED'], example: 'APPLY_FAILED' })
  error!: string;

  @ApiProperty({ description: 'What went wrong, for a person' })
  message!: string;

  @ApiProperty({ example: '5b0c2f7e-3d4a-4d8e-9a61-0f2b7c1d9e33', description: 'As X-Request-Id' })
  requestId!: string;

  @ApiProperty({ format: 'uuid', description: 'Audit log id of this apply' })
  id!: string;

  @ApiProperty({
    enum: ['failed', 'rolled_back', 'partial'],
    example: 'rolled_back',
    description:
      'partial: some nodes have the new config and others do not (see nodes); rolled_back: no node has it, every node is back on its last good files with Asterisk reloaded; failed: no node has it, and on some nothing was written or the rollback failed too',
  })
  outcome!: 'failed' | 'rolled_back' | 'partial';

  @ApiProperty({ type: 'integer', example: 3, description: 'Users loaded for this apply' })
  users!: number;

  @ApiProperty({
    ...SHA256,
    type: String,
    nullable: true,
    description: 'SHA-256 over both bodies; null when the config could not be generated',
  })
  hash!: string | null;

  @ApiProperty({ type: 'integer', example: 310 })
  durationMs!: number;

  @ApiProperty({
    type: [FileOnDiskDto],
    description: 'The files on each failed node now (none for a node that could not be read)',
  })
  files!: FileOnDiskDto[];

  @ApiProperty({ description: 'Why the apply failed (each failed node, by name, if several)' })
  reason!: string;

  @ApiProperty({ type: [ApplyNodeResultDto], description: 'What happened on every node' })
  nodes!: ApplyNodeResultDto[];
}

export class DryRunFileDto extends ApplyFileDto {
  @ApiProperty({
    description:
      'The file as an apply would write it, with every password_digest value shown as <redacted>',
  })
  content!: string;

  @ApiProperty({
    description: 'Unified diff from the file on disk (digests redacted); empty when unchanged',
  })
  diff!: string;
}

/** One thing a real apply needs, checked by a dry run without changing anything. */
export class DryRunCheckDto {
  @ApiProperty({ example: 'local', description: 'The node this check is about' })
  node!: string;

  @ApiProperty({
    enum: ['connect', 'pjsipDir', 'dialplanDir', 'cli', 'asterisk'],
    description:
      'connect: the node could not be reached (only then listed); pjsipDir, dialplanDir: the include directory exists and is writable; cli: the CLI runs; asterisk: Asterisk answers it',
  })
  name!: 'connect' | 'pjsipDir' | 'dialplanDir' | 'cli' | 'asterisk';

  @ApiProperty({ example: true })
  ok!: boolean;

  @ApiProperty({ example: 'Asterisk answers', description: 'What was found, in one line' })
  message!: string;
}

export class DryRunResultDto {
  @ApiProperty({ type: 'boolean', enum: [true], example: true })
  dryRun!: true;

  @ApiProperty({
    type: [DryRunCheckDto],
    description: 'Whether a real apply can succeed on every node: every check must be ok',
  })
  checks!: DryRunCheckDto[];

  @ApiProperty({ example: true, description: 'Whether an apply would change any file of any node' })
  changed!: boolean;

  @ApiProperty({ type: 'integer', example: 3 })
  users!: number;

  @ApiProperty({ ...SHA256, example: SHA256_EXAMPLE })
  hash!: string;

  @ApiProperty({ type: [DryRunFileDto], description: 'Both files of every node, with their diff' })
  files!: DryRunFileDto[];
}

export const MAX_LOG_PAGE = 500;
/** Past any audit log this portal writes (years of applies); inside PostgreSQL's bigint. */
export const MAX_LOG_OFFSET = 1_000_000;

/** Pages like GET /users: `limit` and `offset`, answered with `{items, total}`. */
export class ApplyLogsQueryDto {
  @PageLimit(MAX_LOG_PAGE, 50)
  limit: number = 50;

  @PageOffset(MAX_LOG_OFFSET, 'Entries to skip, newest first')
  offset: number = 0;
}

export class ApplyLogDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  startedAt!: string;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'null while running',
  })
  finishedAt!: string | null;

  @ApiProperty({ enum: ['running', 'success', 'partial', 'failed', 'rolled_back'] })
  outcome!: string;

  @ApiProperty({ type: 'integer', example: 3 })
  users!: number;

  @ApiProperty({
    ...SHA256,
    nullable: true,
    type: String,
    description: 'null when the config was not generated',
  })
  hash!: string | null;

  @ApiProperty({ nullable: true, type: 'integer', description: 'null while running' })
  durationMs!: number | null;

  @ApiProperty({ description: 'What Asterisk printed, or the error' })
  summary!: string;

  @ApiProperty({ nullable: true, type: String, description: 'X-Request-Id of the apply' })
  requestId!: string | null;

  // oneOf, as lastApply below: the null is a branch of its own.
  @ApiProperty({
    oneOf: [{ $ref: getSchemaPath(AuditActorDto) }, NULL_SCHEMA],
    description: 'Who asked for the apply; null on entries older than API keys',
  })
  actor!: AuditActorDto | null;
}

export class ApplyLogListDto {
  @ApiProperty({ type: [ApplyLogDto], description: 'Newest first' })
  items!: ApplyLogDto[];

  @ApiProperty({ type: 'integer', example: 1, description: 'All entries, before limit/offset' })
  total!: number;
}

export class ApplyStatusDto {
  @ApiProperty({
    description: 'True when some node does not have what an apply would write now',
  })
  pending!: boolean;

  // oneOf rather than Nest's `type: object, allOf`: there `nullable` does not reach the $ref,
  // so a validator (and some generators) would refuse the null. The null is its own branch
  // (OpenAPI 3.0 has no null type): `nullable` beside a oneOf, with no `type`, is invalid.
  @ApiProperty({
    oneOf: [{ $ref: getSchemaPath(ApplyLogDto) }, NULL_SCHEMA],
    description: 'null before the first apply',
  })
  lastApply!: ApplyLogDto | null;

  @ApiProperty({ type: () => [NodeStatusDto], description: 'Each node: what it last applied' })
  nodes!: NodeStatusDto[];
}

/** What one node last applied, as the database keeps it across restarts. */
export class NodeStatusDto {
  @ApiProperty({ example: 'pbx-b' })
  name!: string;

  @ApiProperty({
    example: false,
    description: 'True when the node does not have what an apply would write now',
  })
  pending!: boolean;

  @ApiProperty({
    ...SHA256,
    type: String,
    nullable: true,
    description: 'Hash of the config the node last applied; null: never',
  })
  appliedHash!: string | null;

  @ApiProperty({ format: 'date-time', type: String, nullable: true })
  lastAppliedAt!: string | null;

  @ApiProperty({
    enum: NODE_OUTCOMES,
    type: String,
    nullable: true,
    description: "The node's outcome in the latest apply that reached it; null: none yet",
  })
  lastOutcome!: NodeOutcome | null;
}
