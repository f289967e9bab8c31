import type { ReleaseDto } from './dto/release.dto';
import type { TargetDto } from './dto/target.dto';
import type { ReleaseView } from './releases.service';
import type { TargetView } from './targets.service';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function toReleaseDto(v: ReleaseView): ReleaseDto {
  const r = v.release;
  return {
    name: r.name,
    tenant: v.tenantName,
    source: v.sourceName,
    path: r.path,
    kind: r.kind,
    helm: r.helm,
    clusterSelector: r.clusterSelector,
    clusterNames: r.clusterNames,
    targetNamespace: r.targetNamespace,
    intervalSeconds: r.intervalSeconds,
    retryIntervalSeconds: r.retryIntervalSeconds,
    timeoutSeconds: r.timeoutSeconds,
    prune: r.prune,
    pruneCustomResourceDefinitions: r.pruneCustomResourceDefinitions,
    adopt: r.adopt,
    wait: r.wait,
    allowEmpty: r.allowEmpty,
    force: r.force,
    suspend: r.suspended,
    dependsOn: r.dependsOn,
    healthChecks: r.healthChecks,
    healthCheckExprs: r.healthCheckExprs,
    variables: r.postBuild?.substitute ?? {},
    postBuild: r.postBuild,
    kustomize: r.kustomize,
    generation: r.generation,
    deletionRequestedAt: iso(r.deletionRequestedAt),
    targets: { total: v.readiness.total, ready: v.readiness.ready },
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function toTargetDto(t: TargetView): TargetDto {
  return {
    id: t.id,
    release: t.releaseName,
    cluster: t.clusterName,
    ready: t.readyStatus,
    conditions: t.conditions,
    appliedRevision: t.appliedRevision,
    lastAttemptedRevision: t.lastAttemptedRevision,
    observedGeneration: t.observedGeneration,
    lastResult: t.lastResult,
    counts: t.counts,
    lastDurationMs: t.lastDurationMs,
    lastError: t.lastError,
    suspended: t.suspended,
    removing: t.removing,
    lastReconciledAt: iso(t.lastReconciledAt),
    nextRunAt: t.nextRunAt.toISOString(),
  };
}
