import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  OneToOne,
  PrimaryColumn,
} from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * A SIP extension and its credentials. Only the digests Asterisk needs are stored,
 * never the password; `realm` is the one the digests were computed for.
 *
 * Mirrors the migrations (test/schema.e2e-spec.ts checks it). Constraint names are
 * PostgreSQL's defaults, which the migrations use.
 */
@Entity({ name: 'extension' })
@Check('extension_number_check', `"number" BETWEEN 1 AND 99999`)
@Check('extension_md5_digest_check', `"md5_digest" ~ '^[0-9a-f]{32}$'`)
@Check('extension_sha256_digest_check', `"sha256_digest" ~ '^[0-9a-f]{64}$'`)
export class Extension {
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'extension_pkey' })
  number!: number;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Tenant, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'extension_tenant_id_fkey' })
  tenant?: Tenant;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  // Named, not imported: users sit above extensions, so the FK names its target entity by
  // name and neither entity imports the other. Nothing loads this relation; it is the schema's.
  @OneToOne('User', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'extension_user_id_fkey' })
  user?: unknown;

  @Column({ name: 'sip_username', type: 'varchar', length: 32 })
  sipUsername!: string;

  @Column({ type: 'varchar', length: 64 })
  realm!: string;

  @Column({ name: 'md5_digest', type: 'char', length: 32 })
  md5Digest!: string;

  @Column({ name: 'sha256_digest', type: 'char', length: 64 })
  sha256Digest!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
