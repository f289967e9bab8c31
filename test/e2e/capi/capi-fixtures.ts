import type { KubeObject, SimCluster } from 'test/support/kube-sim';
import { simRequest } from 'test/support/kube-sim/http-client';

export const CAPI_NS = 'capi-fleet';
export const PLATFORM_NS = 'capi-platform';

export interface CapiClusterOptions {
  labels?: Record<string, string>;
  paused?: boolean;
  provisioned?: boolean;
}

/** A Cluster API Cluster in the shape of the given served version, provisioned unless told otherwise. */
export function capiCluster(
  version: 'v1beta1' | 'v1beta2',
  namespace: string,
  name: string,
  opts: CapiClusterOptions = {},
): KubeObject {
  const provisioned = opts.provisioned ?? true;
  const now = new Date().toISOString();
  const status =
    version === 'v1beta1'
      ? {
          phase: provisioned ? 'Provisioned' : 'Provisioning',
          infrastructureReady: provisioned,
          controlPlaneReady: provisioned,
          conditions: [
            provisioned
              ? { type: 'Ready', status: 'True', lastTransitionTime: now }
              : {
                  type: 'Ready',
                  status: 'False',
                  severity: 'Info',
                  reason: 'WaitingForControlPlane',
                  lastTransitionTime: now,
                },
          ],
        }
      : {
          phase: provisioned ? 'Provisioned' : 'Provisioning',
          initialization: {
            infrastructureProvisioned: provisioned,
            controlPlaneInitialized: provisioned,
          },
          conditions: [
            {
              type: 'Available',
              status: provisioned ? 'True' : 'False',
              reason: provisioned ? 'Available' : 'NotAvailable',
              message: '',
              lastTransitionTime: now,
            },
            {
              type: 'ControlPlaneInitialized',
              status: provisioned ? 'True' : 'False',
              reason: provisioned ? 'Initialized' : 'NotInitialized',
              message: '',
              lastTransitionTime: now,
            },
          ],
        };
  return {
    apiVersion: `cluster.x-k8s.io/${version}`,
    kind: 'Cluster',
    metadata: {
      name,
      namespace,
      labels: opts.labels ?? {},
      // The sim requires a qualified finalizer name (real Cluster API uses cluster.cluster.x-k8s.io).
      finalizers: ['cluster.x-k8s.io/cluster'],
    },
    spec: {
      ...(opts.paused === undefined ? {} : { paused: opts.paused }),
      controlPlaneEndpoint: { host: `${name}.example`, port: 6443 },
    },
    status,
  };
}

/** The `<name>-kubeconfig` Secret Cluster API writes; overrides plant wrong ones. */
export function kubeconfigSecret(
  namespace: string,
  name: string,
  kubeconfig: string,
  overrides: { type?: string; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${name}-kubeconfig`,
      namespace,
      labels: overrides.labels ?? { 'cluster.x-k8s.io/cluster-name': name },
    },
    type: overrides.type ?? 'cluster.x-k8s.io/secret',
    data: { value: Buffer.from(kubeconfig).toString('base64') },
  };
}

export const clusterPath = (namespace: string, name: string, version = 'v1beta2'): string =>
  `/apis/cluster.x-k8s.io/${version}/namespaces/${namespace}/clusters/${name}`;

/** Merge-patches a Cluster through the API (as a user would with kubectl). */
export async function patchCluster(
  mgmt: SimCluster,
  namespace: string,
  name: string,
  patch: unknown,
): Promise<void> {
  const res = await simRequest(mgmt, 'PATCH', clusterPath(namespace, name), {
    body: patch,
    contentType: 'application/merge-patch+json',
  });
  if (res.status !== 200) {
    throw new Error(`patch Cluster ${name}: ${res.status} ${res.text}`);
  }
}

/** A kubeconfig whose user runs an exec plugin (must be refused, never run). */
export function execKubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [
      {
        name: 'u',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: '/bin/sh',
            args: ['-c', 'touch /tmp/gitfleet-capi-exec-ran'],
          },
        },
      },
    ],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });
}
