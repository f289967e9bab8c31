import type { Cluster } from 'src/clusters/cluster.types';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { RenderResult } from 'src/modules/rendering/rendering.types';
import { ReleaseEntity } from 'src/modules/releases/entities/release.entity';
import { TargetEntity } from 'src/modules/releases/entities/target.entity';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import type { Source } from 'src/modules/sources/source.types';
import type { ReleaseArtifact } from 'src/modules/sources/sources.service';
import type { Grant } from 'src/tenants/grants/grant.types';

export interface ContextOverrides {
  target?: Partial<TargetEntity>;
  release?: Partial<ReleaseEntity>;
  cluster?: Partial<Cluster>;
  grant?: Partial<Grant> | null;
  source?: Partial<Source> | null;
  hasDependents?: boolean;
}

const T0 = new Date('2026-01-01T00:00:00.000Z');

/** A reconcile context of release `web` (tenant `team-a`) on cluster `prod-eu`; override what a test needs. */
export function reconcileContext(over: ContextOverrides = {}): ReconcileContext {
  const release = Object.assign(new ReleaseEntity(), {
    id: 'release-1',
    tenantId: 'tenant-1',
    name: 'web',
    sourceId: 'source-1',
    path: 'apps',
    kind: null,
    helm: null,
    clusterSelector: null,
    clusterNames: null,
    targetNamespace: 'apps',
    intervalSeconds: 300,
    retryIntervalSeconds: 60,
    timeoutSeconds: 60,
    prune: true,
    pruneCustomResourceDefinitions: false,
    adopt: 'IfUnowned',
    wait: false,
    allowEmpty: false,
    force: false,
    suspended: false,
    dependsOn: [],
    healthChecks: [],
    healthCheckExprs: [],
    postBuild: null,
    kustomize: null,
    generation: 1,
    deletionRequestedAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...over.release,
  });
  const target = Object.assign(new TargetEntity(), {
    id: 'target-1',
    tenantId: 'tenant-1',
    releaseId: release.id,
    clusterId: 'cluster-1',
    removing: false,
    appliedRevision: null,
    lastAttemptedRevision: null,
    observedGeneration: 0,
    appliedDigest: null,
    conditions: [],
    readyStatus: 'Unknown',
    lastResult: null,
    counts: null,
    lastDurationMs: null,
    lastError: null,
    inventory: [],
    conflicts: [],
    suspended: false,
    lastReconciledAt: null,
    nextRunAt: T0,
    reconcileRequestedAt: null,
    freshReadRequested: false,
    failureCount: 0,
    leaseOwner: 'replica-a',
    leaseExpiresAt: T0,
    fencingToken: '1',
    updatedAt: T0,
    ...over.target,
  });
  const cluster: Cluster = {
    id: 'cluster-1',
    name: 'prod-eu',
    labels: { env: 'prod' },
    ownerTenantId: null,
    ownerTenantName: null,
    apiServerUrl: 'https://prod-eu.example:6443',
    kubernetesVersion: '1.34.0',
    source: 'manual',
    insecureSkipTlsVerify: false,
    conditions: [],
    lastProbeTime: null,
    kubeconfigVersion: 1,
    createdAt: T0,
    updatedAt: T0,
    capi: null,
    ...over.cluster,
  };
  const grant: Grant | undefined =
    over.grant === null
      ? undefined
      : {
          id: 'grant-1',
          tenantId: 'tenant-1',
          tenantName: 'team-a',
          clusterId: cluster.id,
          clusterName: cluster.name,
          namespaces: ['apps'],
          serviceAccountName: 'deployer',
          clusterScopedKinds: [],
          createdAt: T0,
          updatedAt: T0,
          ...over.grant,
        };
  // Steps hand the source to the sources service only; its fields do not matter here.
  const source: Source | undefined =
    over.source === null
      ? undefined
      : Object.assign(Object.create(null), { id: 'source-1', name: 'apps', ...over.source });
  return {
    target,
    release,
    cluster,
    tenantName: 'team-a',
    grant,
    source,
    hasDependents: over.hasDependents ?? false,
  };
}

export function claimOf(ctx: ReconcileContext): ClaimedTarget {
  return {
    id: ctx.target.id,
    tenantId: ctx.target.tenantId,
    releaseId: ctx.release.id,
    clusterId: ctx.cluster.id,
    fencingToken: '1',
    claimedAt: '2026-01-01 00:00:00.000001+00',
  };
}

export function artifactOf(over: Partial<ReleaseArtifact> = {}): ReleaseArtifact {
  return Object.assign(Object.create(null), {
    revision: 'main@sha1:abc',
    dir: '/artifacts/abc',
    digest: 'sha256:a1',
    ...over,
  });
}

export function renderResultOf(
  objects: RenderResult['objects'],
  digest = 'sha256:r1',
): RenderResult {
  return Object.assign(Object.create(null), { objects, digest });
}

/** A ConfigMap as a render yields it. */
export function configMap(name: string, namespace = 'apps'): RenderResult['objects'][number] {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { k: 'v' } };
}
