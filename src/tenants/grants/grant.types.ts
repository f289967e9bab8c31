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
  /**
   * Cluster-scoped kinds the tenant may apply, as `group/Kind` (`Kind` alone for
   * the core group). Namespaces are not among them: `namespaces` governs those.
   */
  readonly clusterScopedKinds: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface GrantInput {
  readonly namespaces: readonly string[];
  readonly serviceAccountName?: string;
  readonly clusterScopedKinds?: readonly string[];
}

export const defaultServiceAccountName = (tenantName: string): string => `gitfleet-${tenantName}`;
