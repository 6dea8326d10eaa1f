import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type ApplyOutcome = 'running' | 'success' | 'partial' | 'failed' | 'rolled_back';

/**
 * One row per apply, written before anything touches disk and completed at the end.
 * Mirrors the migrations (test/schema.e2e-spec.ts checks it).
 */
@Entity({ name: 'apply_audit_log' })
@Check(
  'apply_audit_log_outcome_check',
  `"outcome" IN ('running', 'success', 'partial', 'failed', 'rolled_back')`,
)
// On ("started_at" DESC), an order TypeORM cannot declare: the migration owns its definition.
@Index('IDX_apply_audit_log_started_at', { synchronize: false })
@Check('apply_audit_log_actor_type_check', `"actor_type" IN ('key', 'bootstrap')`)
export class ApplyAuditLog {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'apply_audit_log_pkey' })
  id!: string;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: ApplyOutcome;

  @Column({ name: 'user_count', type: 'integer' })
  userCount!: number;

  @Column({ name: 'content_hash', type: 'char', length: 64, nullable: true })
  contentHash!: string | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  @Column({ type: 'text' })
  summary!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  /** Who asked for the apply; null on rows written before keys existed. */
  @Column({ name: 'actor_type', type: 'varchar', length: 16, nullable: true })
  actorType!: 'key' | 'bootstrap' | null;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_name', type: 'varchar', length: 100, nullable: true })
  actorName!: string | null;
}
