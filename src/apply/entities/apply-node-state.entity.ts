import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { NodeOutcome } from '../dto/apply.dto';

/** What one node last applied. Mirrors the migration (test/schema.e2e-spec.ts checks it). */
@Entity({ name: 'apply_node_state' })
@Check(
  'apply_node_state_last_outcome_check',
  `"last_outcome" IN ('applied', 'unchanged', 'rolled_back', 'failed')`,
)
export class ApplyNodeState {
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'apply_node_state_pkey' })
  node!: string;

  /** The config the node has, verified: set by an apply that left it applied or unchanged. */
  @Column({ name: 'applied_hash', type: 'char', length: 64, nullable: true })
  appliedHash!: string | null;

  @Column({ name: 'applied_apply_id', type: 'uuid', nullable: true })
  appliedApplyId!: string | null;

  @Column({ name: 'applied_at', type: 'timestamptz', nullable: true })
  appliedAt!: Date | null;

  @Column({ name: 'last_outcome', type: 'varchar', length: 16 })
  lastOutcome!: NodeOutcome;

  @Column({ name: 'last_apply_id', type: 'uuid' })
  lastApplyId!: string;

  @Column({ name: 'last_apply_at', type: 'timestamptz' })
  lastApplyAt!: Date;
}
