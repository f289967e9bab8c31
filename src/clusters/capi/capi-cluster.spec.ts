import { describe, expect, it } from 'vitest';
import { convertCluster } from 'test/support/kube-sim/cluster-api';
import type { KubeObject } from 'test/support/kube-sim';
import {
  capiReadiness,
  normalizeCapiCluster,
  registrableLabels,
  registryNameOf,
} from './capi-cluster';

const T = '2026-01-01T00:00:00Z';

const v1beta1 = (status: Record<string, unknown>, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'Cluster',
  metadata: {
    name: 'wl',
    namespace: 'fleet',
    uid: 'u1',
    resourceVersion: '7',
    labels: { env: 'prod' },
  },
  spec: {},
  status,
  ...extra,
});

const provisionedV1beta1 = v1beta1({
  phase: 'Provisioned',
  infrastructureReady: true,
  controlPlaneReady: true,
  conditions: [
    { type: 'Ready', status: 'True', lastTransitionTime: T },
    { type: 'ControlPlaneReady', status: 'True', lastTransitionTime: T },
  ],
});

const provisionedV1beta2: KubeObject = {
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Cluster',
  metadata: { name: 'wl', namespace: 'fleet', uid: 'u2', resourceVersion: '9' },
  spec: { paused: false },
  status: {
    phase: 'Provisioned',
    initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true },
    conditions: [{ type: 'Available', status: 'True', reason: 'Available', lastTransitionTime: T }],
  },
};

describe('Cluster API Cluster normalisation', () => {
  it('reads a v1beta1 Cluster: top-level readiness booleans and CAPI conditions with severity', () => {
    const sut = normalizeCapiCluster(
      v1beta1({
        phase: 'Provisioning',
        infrastructureReady: true,
        controlPlaneReady: false,
        failureMessage: 'quota',
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            severity: 'Warning',
            reason: 'WaitingForControlPlane',
            lastTransitionTime: T,
          },
        ],
      }),
    );
    expect(sut).toMatchObject({
      namespace: 'fleet',
      name: 'wl',
      uid: 'u1',
      phase: 'Provisioning',
      infrastructureProvisioned: true,
      controlPlaneInitialized: false,
      paused: false,
      deleting: false,
      failureMessage: 'quota',
      labels: { env: 'prod' },
    });
    expect(sut.conditions).toEqual([
      {
        type: 'Ready',
        status: 'False',
        severity: 'Warning',
        reason: 'WaitingForControlPlane',
        lastTransitionTime: T,
      },
    ]);
  });

  it('reads a v1beta2 Cluster: status.initialization and metav1 conditions', () => {
    const sut = normalizeCapiCluster(provisionedV1beta2);
    expect(sut).toMatchObject({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      phase: 'Provisioned',
      infrastructureProvisioned: true,
      controlPlaneInitialized: true,
      paused: false,
    });
    expect(sut.conditions.map((c) => c.type)).toEqual(['Available']);
  });

  it('gives the same readiness for one object read in either version', () => {
    const asV2 = normalizeCapiCluster(
      convertCluster(provisionedV1beta1, 'cluster.x-k8s.io/v1beta2'),
    );
    const asV1 = normalizeCapiCluster(
      convertCluster(provisionedV1beta2, 'cluster.x-k8s.io/v1beta1'),
    );
    expect(asV2.controlPlaneInitialized).toBe(true);
    expect(asV1.controlPlaneInitialized).toBe(true);
    // A v1beta1-written Cluster read as v1beta2 keeps its old conditions (status.deprecated.v1beta1).
    expect(asV2.conditions.map((c) => c.type)).toEqual(['Ready', 'ControlPlaneReady']);
    expect(asV1.conditions.map((c) => c.type)).toEqual(['Available']);
    expect(capiReadiness(asV2)).toEqual({ ready: true });
    expect(capiReadiness(asV1)).toEqual({ ready: true });
  });

  it('takes ControlPlaneInitialized=True as initialized when the boolean is absent', () => {
    const sut = normalizeCapiCluster(
      v1beta1({
        phase: 'Provisioned',
        conditions: [{ type: 'ControlPlaneInitialized', status: 'True', lastTransitionTime: T }],
      }),
    );
    expect(capiReadiness(sut)).toEqual({ ready: true });
  });

  it('sees pause in spec.paused (both versions) and in the paused annotation', () => {
    expect(normalizeCapiCluster({ ...provisionedV1beta2, spec: { paused: true } }).paused).toBe(
      true,
    );
    expect(normalizeCapiCluster(v1beta1({}, { spec: { paused: true } })).paused).toBe(true);
    const annotated = v1beta1({});
    annotated.metadata.annotations = { 'cluster.x-k8s.io/paused': '' };
    expect(normalizeCapiCluster(annotated).paused).toBe(true);
  });

  it('sees deletion in metadata.deletionTimestamp', () => {
    const deleting = structuredClone(provisionedV1beta2);
    deleting.metadata.deletionTimestamp = T;
    const sut = normalizeCapiCluster(deleting);
    expect(sut.deleting).toBe(true);
    expect(capiReadiness(sut)).toMatchObject({ ready: false, reason: 'Deleting' });
  });

  it('is not ready before Provisioned, nor before the control plane is initialized', () => {
    expect(capiReadiness(normalizeCapiCluster(v1beta1({ phase: 'Provisioning' })))).toMatchObject({
      ready: false,
      reason: 'NotProvisioned',
    });
    expect(capiReadiness(normalizeCapiCluster(v1beta1({})))).toMatchObject({
      ready: false,
      reason: 'NotProvisioned',
    });
    expect(
      capiReadiness(
        normalizeCapiCluster(v1beta1({ phase: 'Provisioned', controlPlaneReady: false })),
      ),
    ).toMatchObject({ ready: false, reason: 'ControlPlaneNotInitialized' });
  });

  it('bounds condition lists and messages, and skips malformed entries', () => {
    const sut = normalizeCapiCluster(
      v1beta1({
        conditions: [
          'junk',
          { type: 'Ready' },
          ...Array.from({ length: 100 }, (_, i) => ({
            type: `T${i}`,
            status: 'True',
            message: 'x'.repeat(5000),
          })),
        ],
      }),
    );
    expect(sut.conditions.length).toBeLessThanOrEqual(32);
    expect(sut.conditions[0].message?.length).toBeLessThanOrEqual(1025);
  });

  it('refuses something that is not an object', () => {
    expect(() => normalizeCapiCluster('nope')).toThrow();
  });
});

describe('labels and names of discovered clusters', () => {
  it('carries valid labels over and names the invalid ones', () => {
    expect(
      registrableLabels({ env: 'prod', 'cluster.x-k8s.io/cluster-name': 'wl', 'bad key!': 'x' }),
    ).toEqual({
      labels: { env: 'prod', 'cluster.x-k8s.io/cluster-name': 'wl' },
      dropped: ['bad key!'],
    });
  });

  it('names a cluster namespace.name, unique across namespaces', () => {
    expect(registryNameOf('team-a', 'wl-1')).toBe('team-a.wl-1');
  });
});
