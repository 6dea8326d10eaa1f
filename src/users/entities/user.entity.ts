import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * Mirrors the migrations (test/schema.e2e-spec.ts checks it). Constraint names are
 * PostgreSQL's defaults, which the migrations use.
 */
@Entity({ name: 'user' })
// Unique on ("tenant_id", lower("email")): TypeORM cannot declare an expression index, so
// the migration owns its definition and the entity only names it.
@Index('UQ_user_tenant_email', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'user_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Tenant, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'user_tenant_id_fkey' })
  tenant?: Tenant;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
