// Plain domain types of releases and their targets. Other contexts use these, never the
// entities (which map the same rows for TypeORM and stay inside this context).

import type { Condition, ConditionStatus } from 'src/common/conditions/conditions';
import type { KustomizeOverlay } from 'src/modules/rendering/rendering.types';

export type ReleaseKind = 'plain' | 'kustomize' | 'helm';

/**
 * When a release may take over an object that exists already in the cluster:
 * `IfUnowned` (default) unless another release gitfleet knows on that cluster
 * owns it; `Always` even then (as Helm's `--take-ownership`); `Never` only objects
 * it created itself.
 */
export type AdoptionPolicy = 'IfUnowned' | 'Always' | 'Never';
export const ADOPTION_POLICIES: readonly AdoptionPolicy[] = ['IfUnowned', 'Always', 'Never'];

/** Kubernetes-style label selector over cluster labels. */
export interface ClusterSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface ReleaseHelmSpec {
  /** Chart name in a helm source, or a chart directory / .tgz path inside a git source. */
  chart: string;
  /** Semver range for charts from a helm source. */
  version?: string;
  releaseName?: string;
  valuesFiles?: string[];
  values?: Record<string, unknown>;
  /** Flux HelmRelease `spec.test`: run the chart's Helm test hooks after an install or upgrade. */
  test?: ReleaseHelmTest;
}

export interface ReleaseHelmTest {
  enable?: boolean;
  /** A failed test is reported in the Ready message instead of failing the release. */
  ignoreFailures?: boolean;
}

/** A ConfigMap or Secret of the workload cluster whose data keys become variables. */
export interface ReleaseSubstituteReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  optional?: boolean;
}

/** Flux Kustomization `spec.postBuild`; null on a release: no substitution at all. */
export interface ReleasePostBuild {
  substitute?: Record<string, string>;
  substituteFrom?: ReleaseSubstituteReference[];
}

/**
 * Flux Kustomization `spec.patches`, `images`, `namePrefix`, `nameSuffix`, `commonMetadata`
 * and `components`, over a plain or Kustomize path; null: the path renders as it is.
 */
export type ReleaseKustomize = KustomizeOverlay;

/** An extra health check on an object the release does not apply itself. */
export interface ReleaseHealthCheck {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Flux `healthCheckExprs` entry: CEL health of objects of one apiVersion/kind. */
export interface ReleaseHealthCheckExpr {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

/**
 * What to deploy and where. Spec fields bump `generation`; targets record the
 * generation they last reconciled, like Kubernetes' observedGeneration.
 */
export interface Release {
  id: string;
  tenantId: string;
  name: string;
  sourceId: string;
  path: string;
  /** Null: detected from the path (kustomization file → kustomize, Chart.yaml → helm, else plain). */
  kind: ReleaseKind | null;
  helm: ReleaseHelmSpec | null;
  clusterSelector: ClusterSelector | null;
  clusterNames: string[] | null;
  targetNamespace: string;
  intervalSeconds: number;
  retryIntervalSeconds: number;
  timeoutSeconds: number;
  prune: boolean;
  /** CRDs are kept when they leave the set unless this is true (Helm never deletes them). */
  pruneCustomResourceDefinitions: boolean;
  adopt: AdoptionPolicy;
  wait: boolean;
  allowEmpty: boolean;
  force: boolean;
  suspended: boolean;
  dependsOn: string[];
  healthChecks: ReleaseHealthCheck[];
  healthCheckExprs: ReleaseHealthCheckExpr[];
  postBuild: ReleasePostBuild | null;
  kustomize: ReleaseKustomize | null;
  generation: number;
  /** Set by DELETE: targets prune what they applied, then the row goes. */
  deletionRequestedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type { ConditionStatus };

export type TargetCondition = Condition<'Ready' | 'Reconciling' | 'Stalled'>;

/** One applied object, as stored between reconciles. */
export interface InventoryEntry {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  /** Digest of the desired object we last applied; unchanged desired + unchanged live = no request. */
  appliedHash?: string;
  /** resourceVersion the cluster returned after our last apply. */
  resourceVersion?: string;
  /** Created (POST) from this `generateName`; `name` is the name the cluster gave it. */
  generateName?: string;
  /** A Helm or Argo CD hook (`pre-install`, `PostSync`…), created once per applied render. */
  hook?: string;
}

/** An object a target renders but could not take: who holds it is looked up when needed. */
export interface ConflictEntry {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** Another target on the same cluster, as prune and apply see it when objects are shared. */
export interface ClusterPeer {
  targetId: string;
  tenantId: string;
  tenantName: string;
  releaseName: string;
  /** Its cluster is no longer selected or its release is being deleted. */
  departing: boolean;
  adopt: AdoptionPolicy;
  inventory: InventoryEntry[];
  conflicts: ConflictEntry[];
}

export interface TargetCounts {
  applied: number;
  unchanged: number;
  pruned: number;
  drifted: number;
}

export type TargetResult = 'Succeeded' | 'Failed' | 'Skipped';

/** One release on one cluster: the unit of reconciliation, and its own work queue entry. */
export interface Target {
  id: string;
  tenantId: string;
  releaseId: string;
  clusterId: string;
  /** Names are immutable on both sides, so copies here stay true and make listing cheap. */
  releaseName: string;
  clusterName: string;
  /** The cluster is no longer selected: prune what was applied, then delete the row. */
  removing: boolean;
  appliedRevision: string | null;
  lastAttemptedRevision: string | null;
  observedGeneration: number;
  /** Release generation + revision + render digest the inventory corresponds to. */
  appliedDigest: string | null;
  conditions: TargetCondition[];
  /** Denormalized Ready status for filtering and counting without parsing jsonb. */
  readyStatus: ConditionStatus;
  lastResult: TargetResult | null;
  counts: TargetCounts | null;
  lastDurationMs: number | null;
  lastError: string | null;
  inventory: InventoryEntry[];
  /** Objects the release renders here but another release owns: left untouched, handed over when it goes. */
  conflicts: ConflictEntry[];
  suspended: boolean;
  lastReconciledAt: Date | null;
  // Work queue.
  nextRunAt: Date;
  /** Last reconcile request (trigger or user); one newer than the running claim re-runs it. */
  reconcileRequestedAt: Date | null;
  /** A user asked to reconcile now: read live state afresh, not from the shared snapshot. */
  freshReadRequested: boolean;
  failureCount: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  fencingToken: string;
  updatedAt: Date;
}
