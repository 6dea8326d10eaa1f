import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { WebhookDelivery } from './webhook-delivery.entity';

/** One try of a delivery: the answer's status or the error, never a header or the secret. */
@Entity({ name: 'webhook_attempt' })
@Index('IDX_webhook_attempt_delivery', ['deliveryId'])
export class WebhookAttempt {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'webhook_attempt_pkey' })
  id!: string;

  @Column({ name: 'delivery_id', type: 'uuid' })
  deliveryId!: string;

  @ManyToOne(() => WebhookDelivery, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'delivery_id',
    foreignKeyConstraintName: 'webhook_attempt_delivery_id_fkey',
  })
  delivery?: WebhookDelivery;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus!: number | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  error!: string | null;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;
}
