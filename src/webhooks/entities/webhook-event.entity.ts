import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * The outbox: one event, written in the transaction of the change it reports. Its id is the
 * `webhook-id` of every attempt to every subscription. Mirrors the migrations.
 */
@Entity({ name: 'webhook_event' })
export class WebhookEvent {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'webhook_event_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Tenant, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'webhook_event_tenant_id_fkey' })
  tenant?: Tenant;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;

  @Index('IDX_webhook_event_created')
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
