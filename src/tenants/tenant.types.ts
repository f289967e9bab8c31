import type { SubjectKind, TenantRole } from './entities/tenant-role-binding.entity';

export interface RoleBinding {
  readonly subjectKind: SubjectKind;
  readonly subject: string;
  readonly role: TenantRole;
}

export interface TenantQuotas {
  /** Null: unlimited. */
  readonly maxClusters: number | null;
  readonly maxReleases: number | null;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly roleBindings: readonly RoleBinding[];
  readonly allowClusterRegistration: boolean;
  readonly quotas: TenantQuotas;
  /** Set while a cascading delete cleans up; the row goes once nothing is left. */
  readonly deletionRequestedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewTenant {
  readonly name: string;
  readonly displayName?: string;
  readonly description?: string;
  readonly roleBindings?: readonly RoleBinding[];
  readonly allowClusterRegistration?: boolean;
  readonly quotas?: Partial<TenantQuotas>;
}

export type TenantPatch = Partial<Omit<NewTenant, 'name' | 'quotas'>> & {
  readonly quotas?: Partial<TenantQuotas>;
};
