import type { ClusterApiStatus } from './capi/capi-status';
import type { ClusterCondition, ClusterSource } from './entities/cluster.entity';

/** A registered cluster as the rest of gitfleet sees it: never its credentials. */
export interface Cluster {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Null: platform-shared. */
  readonly ownerTenantId: string | null;
  readonly ownerTenantName: string | null;
  readonly apiServerUrl: string;
  readonly kubernetesVersion: string | null;
  readonly source: ClusterSource;
  readonly insecureSkipTlsVerify: boolean;
  readonly conditions: readonly ClusterCondition[];
  readonly lastProbeTime: Date | null;
  /** Changes whenever the credentials change. */
  readonly kubeconfigVersion: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Cluster API reference, phase and conditions; null unless discovered from Cluster API. */
  readonly capi: ClusterApiStatus | null;
}

export interface ClusterListFilter {
  readonly selector?: import('src/common/labels/label-selector').LabelSelector;
  /** A tenant id, `null` for platform-shared clusters, undefined for all. */
  readonly ownerTenantId?: string | null;
  readonly condition?: { readonly type: string; readonly status: string };
}
