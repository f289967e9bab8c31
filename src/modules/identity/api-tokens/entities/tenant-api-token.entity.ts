import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
} from 'typeorm';
import { TenantEntity } from 'src/tenants/entities/tenant.entity';

/**
 * A tenant API token for automation. Only the SHA-256 of the token is stored;
 * the token itself is shown once, at creation.
 */
@Entity({ name: 'tenant_api_token' })
@Unique('UQ_tenant_api_token_name', ['tenantId', 'name'])
@Unique('UQ_tenant_api_token_hash', ['tokenHash'])
@Index('IDX_tenant_api_token_expires_at', ['expiresAt'])
@Check('CK_tenant_api_token_role', `"role" IN ('owner', 'editor', 'viewer')`)
export class TenantApiTokenEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_tenant_api_token' })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  // Deleting the tenant deletes its tokens.
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'FK_tenant_api_token_tenant' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  role!: 'owner' | 'editor' | 'viewer';

  /** Hex SHA-256 of the whole token. */
  @Column({ type: 'text', name: 'token_hash' })
  tokenHash!: string;

  /** The first characters of the token, to recognise it in lists (`gft_ab12cd…`). */
  @Column({ type: 'text', name: 'token_prefix' })
  tokenPrefix!: string;

  /** Principal that created it (`user:alice`, `admin:admin-token`). */
  @Column({ type: 'text', name: 'created_by' })
  createdBy!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', name: 'last_used_at', nullable: true })
  lastUsedAt!: Date | null;
}
