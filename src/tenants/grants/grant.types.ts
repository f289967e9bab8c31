export interface Grant {
  readonly id: string;
  readonly tenantId: string;
  readonly tenantName: string;
  readonly clusterId: string;
  readonly clusterName: string;
  /** Explicit namespace names, at least one. */
  readonly namespaces: readonly string[];
  /** Service account the tenant's objects are applied as. */
  readonly serviceAccountName: string;
  /** May create cluster-scoped kinds. */
  readonly allowClusterScoped: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface GrantInput {
  readonly namespaces: readonly string[];
  readonly serviceAccountName?: string;
  readonly allowClusterScoped?: boolean;
}

export const defaultServiceAccountName = (tenantName: string): string => `gitfleet-${tenantName}`;
