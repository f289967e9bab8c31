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
  UpdateDateColumn,
} from 'typeorm';
import { TenantEntity } from 'src/tenants/entities/tenant.entity';
import type {
  SourceCondition,
  SourceCredentialsKind,
  SourceKind,
  SourceReference,
} from 'src/modules/sources/source.types';

/**
 * A Git or Helm repository a tenant deploys from, with its fetch status and the
 * lease columns the scheduler claims it with.
 */
@Entity({ name: 'source' })
@Unique('UQ_source_tenant_name', ['tenantId', 'name'])
// Claims scan due sources in next-fetch order.
@Index('IDX_source_next_fetch_at', ['nextFetchAt'])
@Check('CK_source_kind', `"kind" IN ('git', 'helm')`)
@Check('CK_source_credentials_kind', `"credentials_kind" IN ('basic', 'token', 'ssh')`)
@Check(
  'CK_source_credentials_complete',
  `("credentials_kind" IS NULL) = ("credentials_ciphertext" IS NULL) AND ("credentials_ciphertext" IS NULL) = ("credentials_key_id" IS NULL)`,
)
export class SourceEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_source' })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'FK_source_tenant' })
  tenant?: TenantEntity;

  /** DNS-1123 label, unique per tenant, immutable. */
  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  kind!: SourceKind;

  @Column({ type: 'text' })
  url!: string;

  /** Git only: branch, tag, semver range or commit. Null for Helm repositories. */
  @Column({ type: 'jsonb', nullable: true })
  reference!: SourceReference | null;

  @Column({ type: 'integer', name: 'interval_seconds' })
  intervalSeconds!: number;

  @Column({ type: 'integer', name: 'timeout_seconds' })
  timeoutSeconds!: number;

  /** gitignore-syntax patterns of files kept out of the artifact. */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  ignore!: string[];

  /** PEM CA bundle trusted for the repository's TLS certificate (public data). */
  @Column({ type: 'text', name: 'ca_certificate', nullable: true })
  caCertificate!: string | null;

  @Column({ type: 'boolean', default: false })
  suspended!: boolean;

  @Column({ type: 'text', name: 'credentials_kind', nullable: true })
  credentialsKind!: SourceCredentialsKind | null;

  /** Vault envelope of the credentials; associated data `source:<id>:credentials`. */
  @Column({ type: 'text', name: 'credentials_ciphertext', nullable: true })
  credentialsCiphertext!: string | null;

  @Column({ type: 'text', name: 'credentials_key_id', nullable: true })
  credentialsKeyId!: string | null;

  /** Bumped by every spec change. */
  @Column({ type: 'integer', default: 1 })
  generation!: number;

  // ---- status ----

  @Column({ type: 'jsonb', default: () => `'[]'` })
  conditions!: SourceCondition[];

  /** `main@sha1:<commit>`; kept when a later fetch fails. */
  @Column({ type: 'text', nullable: true })
  revision!: string | null;

  @Column({ type: 'text', name: 'artifact_digest', nullable: true })
  artifactDigest!: string | null;

  @Column({ type: 'bigint', name: 'artifact_size_bytes', nullable: true })
  artifactSizeBytes!: string | null;

  @Column({ type: 'integer', name: 'observed_generation', default: 0 })
  observedGeneration!: number;

  @Column({ type: 'timestamptz', name: 'last_fetch_at', nullable: true })
  lastFetchAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'next_fetch_at', default: () => 'now()' })
  nextFetchAt!: Date;

  /** Consecutive failed fetches; 0 after a success. */
  @Column({ type: 'integer', name: 'failure_count', default: 0 })
  failureCount!: number;

  /** Last on-demand refresh; a refresh arriving during a fetch schedules another one. */
  @Column({ type: 'timestamptz', name: 'refresh_requested_at', nullable: true })
  refreshRequestedAt!: Date | null;

  // ---- lease ----

  @Column({ type: 'text', name: 'lease_owner', nullable: true })
  leaseOwner!: string | null;

  @Column({ type: 'timestamptz', name: 'lease_acquired_at', nullable: true })
  leaseAcquiredAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'lease_expires_at', nullable: true })
  leaseExpiresAt!: Date | null;

  /** Increases with every claim and spec change; result writes carry it to reject stale fetches. */
  @Column({ type: 'bigint', name: 'fencing_token', default: 0 })
  fencingToken!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
