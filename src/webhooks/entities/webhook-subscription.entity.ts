import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * Where events go, and the secret that signs them (kept as is: an HMAC needs it). Mirrors the
 * migrations (test/schema.e2e-spec.ts checks it); constraint names are PostgreSQL's defaults.
 */
@Entity({ name: 'webhook_subscription' })
export class WebhookSubscription {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'webhook_subscription_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Tenant, { onDelete: 'RESTRICT' })
  @JoinColumn({
    name: 'tenant_id',
    foreignKeyConstraintName: 'webhook_subscription_tenant_id_fkey',
  })
  tenant?: Tenant;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'text', array: true })
  events!: string[];

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ name: 'disabled_reason', type: 'varchar', length: 500, nullable: true })
  disabledReason!: string | null;

  @Column({ type: 'varchar', length: 64 })
  secret!: string;

  @Column({ name: 'previous_secret', type: 'varchar', length: 64, nullable: true })
  previousSecret!: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
