import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** The portal serves one tenant today; the row exists so data is already scoped for more. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000001';

@Entity({ name: 'tenant' })
export class Tenant {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'tenant_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
