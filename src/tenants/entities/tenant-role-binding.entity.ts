import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
} from 'typeorm';
import { TenantEntity } from './tenant.entity';

export const TENANT_ROLES = ['owner', 'editor', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];
export const SUBJECT_KINDS = ['group', 'user'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** An OIDC group or user holding a role in a tenant. */
@Entity({ name: 'tenant_role_binding' })
@Unique('UQ_tenant_role_binding_subject', ['tenantId', 'subjectKind', 'subject'])
@Index('IDX_tenant_role_binding_subject', ['subjectKind', 'subject'])
@Check('CK_tenant_role_binding_role', `"role" IN ('owner', 'editor', 'viewer')`)
@Check('CK_tenant_role_binding_subject_kind', `"subject_kind" IN ('group', 'user')`)
export class TenantRoleBindingEntity {
  @PrimaryColumn({
    type: 'uuid',
    primaryKeyConstraintName: 'PK_tenant_role_binding',
  })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'FK_tenant_role_binding_tenant' })
  tenant?: TenantEntity;

  @Column({ type: 'text', name: 'subject_kind' })
  subjectKind!: SubjectKind;

  /** OIDC group name or user subject. */
  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  role!: TenantRole;
}
