import { Column, CreateDateColumn, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/entities/user.entity';

/**
 * A SIP extension and its credentials. Only the digests Asterisk needs are stored,
 * never the password; `realm` is the one the digests were computed for.
 */
@Entity({ name: 'extension' })
export class Extension {
  @PrimaryColumn({ type: 'integer' })
  number!: number;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ name: 'user_id', type: 'uuid', unique: true })
  userId!: string;

  @OneToOne(() => User, (user) => user.extension, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

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
