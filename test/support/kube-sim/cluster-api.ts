import type { SimCluster } from 'test/support/kube-sim/cluster';
import { registerConverter } from 'test/support/kube-sim/engine';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { clone, isDict } from 'test/support/kube-sim/types';

const preserve = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const conditionsMap = {
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: preserve,
};

function schema(v1beta2: boolean): Dict {
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        properties: {
          paused: { type: 'boolean' },
          clusterNetwork: preserve,
          controlPlaneEndpoint: {
            type: 'object',
            properties: { host: { type: 'string' }, port: { type: 'integer', format: 'int32' } },
          },
          controlPlaneRef: preserve,
          infrastructureRef: preserve,
          topology: preserve,
          availabilityGates: { type: 'array', items: preserve },
        },
      },
      status: {
        type: 'object',
        properties: v1beta2
          ? {
              conditions: conditionsMap,
              initialization: {
                type: 'object',
                properties: {
                  infrastructureProvisioned: { type: 'boolean' },
                  controlPlaneInitialized: { type: 'boolean' },
                },
              },
              controlPlane: preserve,
              workers: preserve,
              phase: { type: 'string' },
              observedGeneration: { type: 'integer', format: 'int64' },
              failureDomains: { type: 'array', items: preserve },
              deprecated: preserve,
            }
          : {
              conditions: { type: 'array', items: preserve },
              infrastructureReady: { type: 'boolean' },
              controlPlaneReady: { type: 'boolean' },
              phase: { type: 'string' },
              failureReason: { type: 'string' },
              failureMessage: { type: 'string' },
              observedGeneration: { type: 'integer', format: 'int64' },
              failureDomains: preserve,
              v1beta2: preserve,
            },
      },
    },
  };
}

/** The `clusters.cluster.x-k8s.io` CRD (v1beta2 storage, v1beta1 served), trimmed to the fields fleet tools read. */
export const CLUSTER_API_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: 'clusters.cluster.x-k8s.io',
    labels: { 'cluster.x-k8s.io/provider': 'cluster-api' },
  },
  spec: {
    group: 'cluster.x-k8s.io',
    names: {
      kind: 'Cluster',
      listKind: 'ClusterList',
      plural: 'clusters',
      singular: 'cluster',
      shortNames: ['cl'],
      categories: ['cluster-api'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        deprecated: true,
        schema: { openAPIV3Schema: schema(false) },
        subresources: { status: {} },
      },
      {
        name: 'v1beta2',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: schema(true) },
        subresources: { status: {} },
      },
    ],
  },
};

function ref1to2(ref: unknown): unknown {
  if (!isDict(ref)) {
    return ref;
  }
  const group =
    typeof ref.apiVersion === 'string' && ref.apiVersion.includes('/')
      ? ref.apiVersion.split('/')[0]
      : '';
  return { apiGroup: group, kind: ref.kind, name: ref.name };
}

function ref2to1(ref: unknown, namespace?: string): unknown {
  if (!isDict(ref)) {
    return ref;
  }
  // The version is not part of a v1beta2 reference; v1beta1 consumers only read kind/name.
  return {
    apiVersion: `${String(ref.apiGroup)}/v1beta1`,
    kind: ref.kind,
    name: ref.name,
    namespace,
  };
}

/** Hand-written conversion between v1beta1 and v1beta2 for the fields in the spec's §9.1 table. */
export function convertCluster(obj: KubeObject, to: string): KubeObject {
  const out = clone(obj);
  const from = String(obj.apiVersion);
  if (from === to) {
    return out;
  }
  const spec = isDict(out.spec) ? out.spec : undefined;
  const status = isDict(out.status) ? out.status : undefined;
  if (to.endsWith('/v1beta2')) {
    if (spec) {
      if (spec.infrastructureRef !== undefined) {
        spec.infrastructureRef = ref1to2(spec.infrastructureRef);
      }
      if (spec.controlPlaneRef !== undefined) {
        spec.controlPlaneRef = ref1to2(spec.controlPlaneRef);
      }
    }
    if (status) {
      const init: Dict = {};
      if (status.infrastructureReady !== undefined) {
        init.infrastructureProvisioned = status.infrastructureReady;
      }
      if (status.controlPlaneReady !== undefined) {
        init.controlPlaneInitialized = status.controlPlaneReady;
      }
      const v1conds = status.conditions;
      const v2 = isDict(status.v1beta2) ? status.v1beta2 : {};
      delete status.infrastructureReady;
      delete status.controlPlaneReady;
      delete status.v1beta2;
      const deprecated: Dict = {};
      if (
        v1conds !== undefined ||
        status.failureReason !== undefined ||
        status.failureMessage !== undefined
      ) {
        deprecated.v1beta1 = {
          conditions: v1conds,
          failureReason: status.failureReason,
          failureMessage: status.failureMessage,
        };
        status.deprecated = deprecated;
      }
      delete status.failureReason;
      delete status.failureMessage;
      if (v2.conditions !== undefined) {
        status.conditions = v2.conditions;
      } else {
        delete status.conditions;
      }
      if (Object.keys(init).length) {
        status.initialization = init;
      }
    }
  } else {
    if (spec) {
      if (spec.infrastructureRef !== undefined) {
        spec.infrastructureRef = ref2to1(spec.infrastructureRef, obj.metadata.namespace);
      }
      if (spec.controlPlaneRef !== undefined) {
        spec.controlPlaneRef = ref2to1(spec.controlPlaneRef, obj.metadata.namespace);
      }
      if (spec.paused === undefined) {
        delete spec.paused;
      }
    }
    if (status) {
      const init = isDict(status.initialization) ? status.initialization : {};
      const dep =
        isDict(status.deprecated) && isDict(status.deprecated.v1beta1)
          ? status.deprecated.v1beta1
          : {};
      const v2conds = status.conditions;
      delete status.initialization;
      delete status.deprecated;
      delete status.controlPlane;
      delete status.workers;
      if (init.infrastructureProvisioned !== undefined) {
        status.infrastructureReady = init.infrastructureProvisioned;
      }
      if (init.controlPlaneInitialized !== undefined) {
        status.controlPlaneReady = init.controlPlaneInitialized;
      }
      if (dep.conditions !== undefined) {
        status.conditions = dep.conditions;
      } else {
        delete status.conditions;
      }
      for (const k of ['failureReason', 'failureMessage']) {
        if (dep[k] !== undefined) {
          status[k] = dep[k];
        }
      }
      if (v2conds !== undefined) {
        status.v1beta2 = { conditions: v2conds };
      }
    }
  }
  out.apiVersion = to;
  return out;
}

registerConverter('clusters.cluster.x-k8s.io', convertCluster);

/**
 * Installs the Cluster API `Cluster` CRD and waits until it is Established,
 * so the cluster can act as a CAPI management cluster.
 */
export async function installClusterApiCrd(cluster: SimCluster): Promise<void> {
  cluster.seed(clone(CLUSTER_API_CRD));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const crd = cluster.getObject(
      'apiextensions.k8s.io/v1',
      'CustomResourceDefinition',
      'clusters.cluster.x-k8s.io',
    );
    const conds =
      isDict(crd?.status) && Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
    if (conds.some((c) => isDict(c) && c.type === 'Established' && c.status === 'True')) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error('kube-sim: Cluster API CRD not established');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
