import type { SimCluster } from 'test/support/kube-sim/index';
import { Applier } from 'src/modules/reconciler/kube/applier.service';
import { HealthChecker } from 'src/modules/reconciler/kube/health-checker.service';
import { KubeApiClient, type KubeClientOptions } from 'src/common/kube/kube-api.client';
import { SystemKubeClock } from 'src/modules/reconciler/kube/kube-clock';
import { LiveReader } from 'src/modules/reconciler/kube/live-reader';
import { Pruner } from 'src/modules/reconciler/kube/pruner.service';
import type {
  ApplyResult,
  InventoryEntry,
  KubeObject,
  Owner,
} from 'src/modules/reconciler/kube/kube.types';

export const OWNER: Owner = { tenant: 'team-a', release: 'web' };

export function services(): { applier: Applier; pruner: Pruner; health: HealthChecker } {
  const clock = new SystemKubeClock();
  return {
    applier: new Applier(clock, new LiveReader()),
    pruner: new Pruner(),
    health: new HealthChecker(clock),
  };
}

/** A client as gitfleet's own identity on the cluster (the sim's admin token). */
export function clientFor(c: SimCluster, opts: KubeClientOptions = {}): KubeApiClient {
  return new KubeApiClient({ server: c.url, caData: c.ca.certPem, token: c.adminToken }, opts);
}

export function configMap(
  name: string,
  namespace: string,
  data: Record<string, string> = { a: '1' },
): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function deployment(
  name: string,
  ns: string,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, annotations },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
        },
      },
    },
  };
}

export function service(name: string, ns: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ port: 80 }] },
  };
}

/** The inventory the caller stores after a successful apply (optionally with newer RVs). */
export function inventoryOf(
  result: ApplyResult,
  newerRvs: Record<string, string> = {},
): InventoryEntry[] {
  return result.objects.map((o) => {
    const key = `${o.ref.group}/${o.ref.kind}/${o.ref.namespace ?? ''}/${o.ref.name}`;
    return { ...o.ref, appliedHash: o.hash, resourceVersion: newerRvs[key] ?? o.resourceVersion };
  });
}

/** Write requests (non-dry-run) the sim received since the last reset. */
export function simWrites(c: SimCluster): number {
  return c.requestLog.filter(
    (e) =>
      ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb) &&
      !/dryRun=All/.test(e.query),
  ).length;
}
