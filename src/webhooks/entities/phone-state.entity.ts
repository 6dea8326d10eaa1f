import { Check, Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';

export const PHONE_STATES = ['registered', 'unreachable', 'unregistered'] as const;
export type PhoneState = (typeof PHONE_STATES)[number];

/**
 * The last phone state a phone.* event was sent for, per user (no row: unregistered). Mirrors
 * the migrations (test/schema.e2e-spec.ts checks it).
 */
@Entity({ name: 'phone_state' })
@Check('phone_state_state_check', `"state" IN ('registered', 'unreachable', 'unregistered')`)
export class PhoneStateRow {
  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'phone_state_pkey' })
  userId!: string;

  // Named, not imported: users sit above webhooks. Nothing loads this relation.
  @OneToOne('User', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'phone_state_user_id_fkey' })
  user?: unknown;

  @Column({ type: 'varchar', length: 16 })
  state!: PhoneState;

  @Column({ name: 'contact_uri', type: 'varchar', length: 512, nullable: true })
  contactUri!: string | null;

  @Column({ name: 'changed_at', type: 'timestamptz', default: () => 'now()' })
  changedAt!: Date;
}
