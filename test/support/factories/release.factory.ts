import { randomUUID } from 'node:crypto';
import type { ReleaseSpec } from 'src/modules/releases/release.repository';

/** A plain release of `apps` into namespace `apps`, with the API's defaults; override what a test needs. */
export function releaseSpec(fields: Partial<ReleaseSpec> & { sourceId: string }): ReleaseSpec {
  return {
    name: `r-${randomUUID().slice(0, 8)}`,
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
    wait: true,
    allowEmpty: false,
    force: false,
    suspended: false,
    dependsOn: [],
    healthChecks: [],
    healthCheckExprs: [],
    postBuild: null,
    kustomize: null,
    ...fields,
  };
}
