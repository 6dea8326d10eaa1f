import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/** `system`: the portal itself (a receiver's 410 Gone disabling its webhook). */
export type ActorType = 'key' | 'bootstrap' | 'system';

/** Before and after of the non-secret fields a change touched; null where there is none. */
export interface AuditChanges {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/**
 * Who changed what, written in the transaction of the change. Mirrors the migrations
 * (test/schema.e2e-spec.ts checks it); constraint names are PostgreSQL's defaults.
 */
@Entity({ name: 'change_audit' })
@Check('change_audit_actor_type_check', `"actor_type" IN ('key', 'bootstrap', 'system')`)
// On ("at" DESC, "id" DESC), an order TypeORM cannot declare: the migration owns it.
@Index('IDX_change_audit_at', { synchronize: false })
export class ChangeAudit {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'change_audit_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Tenant, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'change_audit_tenant_id_fkey' })
  tenant?: Tenant;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  @Column({ name: 'actor_type', type: 'varchar', length: 16 })
  actorType!: ActorType;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_name', type: 'varchar', length: 100 })
  actorName!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ name: 'target_type', type: 'varchar', length: 32 })
  targetType!: string;

  @Column({ name: 'target_id', type: 'uuid', nullable: true })
  targetId!: string | null;

  @Column({ type: 'jsonb' })
  changes!: AuditChanges;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ name: 'client_address', type: 'varchar', length: 64, nullable: true })
  clientAddress!: string | null;
}
