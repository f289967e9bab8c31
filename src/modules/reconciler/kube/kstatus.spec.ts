import { describe, expect, it } from 'vitest';
import { computeHealth } from './kstatus';
import type { KubeObject } from './kube.types';

function obj(apiVersion: string, kind: string, rest: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name: 'x', namespace: 'ns', ...(rest.metadata ?? {}) },
    ...rest,
  };
}

const cond = (type: string, status: string, reason?: string, message?: string) => ({
  type,
  status,
  reason,
  message,
});

const readyDeployment = (over: Record<string, unknown> = {}): KubeObject =>
  obj('apps/v1', 'Deployment', {
    metadata: { name: 'web', generation: 2 },
    spec: { replicas: 2 },
    status: {
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [
        cond('Available', 'True', 'MinimumReplicasAvailable'),
        cond('Progressing', 'True', 'NewReplicaSetAvailable'),
      ],
      ...over,
    },
  });

describe('computeHealth', () => {
  it('reports Terminating when a deletionTimestamp is set', () => {
    const o = readyDeployment();
    o.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(computeHealth(o).status).toBe('Terminating');
  });

  it('reports InProgress while the generation is not observed', () => {
    expect(computeHealth(readyDeployment({ observedGeneration: 1 })).status).toBe('InProgress');
  });

  it('reports Failed on Stalled=True and InProgress on Reconciling=True', () => {
    const stalled = obj('example.com/v1', 'Widget', {
      status: { conditions: [cond('Stalled', 'True', 'X', 'boom')] },
    });
    expect(computeHealth(stalled)).toEqual({
      status: 'Failed',
      message: 'Resource is stalled: boom',
    });
    const rec = obj('example.com/v1', 'Widget', {
      status: { conditions: [cond('Reconciling', 'True')] },
    });
    expect(computeHealth(rec).status).toBe('InProgress');
  });

  describe('Deployment', () => {
    it('is Current when rolled out and available', () => {
      expect(computeHealth(readyDeployment()).status).toBe('Current');
    });
    it('is InProgress while replicas are not ready', () => {
      expect(computeHealth(readyDeployment({ readyReplicas: 1 })).message).toBe('Ready: 1/2');
      expect(computeHealth(readyDeployment({ updatedReplicas: 0 })).status).toBe('InProgress');
      expect(computeHealth(readyDeployment({ replicas: 3 })).status).toBe('InProgress');
    });
    it('is InProgress while Progressing says ReplicaSetUpdated', () => {
      const d = readyDeployment({ conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated')] });
      expect(computeHealth(d).status).toBe('InProgress');
    });
    it('is Failed when the progress deadline is exceeded', () => {
      const d = readyDeployment({
        conditions: [cond('Progressing', 'False', 'ProgressDeadlineExceeded')],
      });
      expect(computeHealth(d).status).toBe('Failed');
    });
    it('defaults spec.replicas to 1', () => {
      const d = obj('apps/v1', 'Deployment', { spec: {}, status: {} });
      expect(computeHealth(d).status).toBe('InProgress');
    });
  });

  describe('StatefulSet', () => {
    const sts = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
      obj('apps/v1', 'StatefulSet', { spec: { replicas: 2, ...spec }, status });
    it('is Current with OnDelete updates', () => {
      expect(computeHealth(sts({}, { updateStrategy: { type: 'OnDelete' } })).status).toBe(
        'Current',
      );
    });
    it('uses the partition when set', () => {
      const spec = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } };
      expect(
        computeHealth(sts({ replicas: 2, readyReplicas: 2, updatedReplicas: 1 }, spec)).status,
      ).toBe('InProgress');
      expect(
        computeHealth(sts({ replicas: 2, readyReplicas: 2, updatedReplicas: 2 }, spec)).status,
      ).toBe('Current');
    });
    it('needs current == update revision without a partition', () => {
      const base = { replicas: 2, readyReplicas: 2, currentReplicas: 2 };
      expect(
        computeHealth(sts({ ...base, currentRevision: 'a', updateRevision: 'b' })).status,
      ).toBe('InProgress');
      expect(
        computeHealth(sts({ ...base, currentRevision: 'a', updateRevision: 'a' })).status,
      ).toBe('Current');
    });
  });

  it('DaemonSet needs observedGeneration and every count at desired', () => {
    const ds = (status: Record<string, unknown>) => obj('apps/v1', 'DaemonSet', { status });
    expect(computeHealth(ds({ desiredNumberScheduled: 2 })).status).toBe('InProgress');
    const full = {
      observedGeneration: 1,
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
      numberReady: 1,
    };
    expect(computeHealth(ds(full)).message).toBe('Ready: 1/2');
    expect(computeHealth(ds({ ...full, numberReady: 2 })).status).toBe('Current');
  });

  it('ReplicaSet compares labelled, available and ready replicas', () => {
    const rs = (status: Record<string, unknown>) =>
      obj('apps/v1', 'ReplicaSet', { spec: { replicas: 1 }, status });
    expect(
      computeHealth(rs({ fullyLabeledReplicas: 1, availableReplicas: 0, readyReplicas: 1 })).status,
    ).toBe('InProgress');
    expect(
      computeHealth(
        rs({ replicas: 1, fullyLabeledReplicas: 1, availableReplicas: 1, readyReplicas: 1 }),
      ).status,
    ).toBe('Current');
  });

  it('Job: Failed condition fails, Complete or started is Current, not started is InProgress', () => {
    const job = (status: Record<string, unknown>) => obj('batch/v1', 'Job', { status });
    expect(
      computeHealth(job({ conditions: [cond('Failed', 'True', 'BackoffLimitExceeded')] })).status,
    ).toBe('Failed');
    expect(computeHealth(job({ conditions: [cond('Complete', 'True')] })).status).toBe('Current');
    expect(computeHealth(job({ startTime: '2026-01-01T00:00:00Z' })).status).toBe('Current');
    expect(computeHealth(job({})).status).toBe('InProgress');
  });

  describe('Pod', () => {
    const pod = (status: Record<string, unknown>, created = '2026-01-01T00:00:00Z') =>
      obj('v1', 'Pod', { metadata: { name: 'p', creationTimestamp: created }, status });
    it('is Current when Succeeded, Failed, or Running and Ready', () => {
      expect(computeHealth(pod({ phase: 'Succeeded' })).status).toBe('Current');
      expect(computeHealth(pod({ phase: 'Failed' })).status).toBe('Current');
      expect(
        computeHealth(pod({ phase: 'Running', conditions: [cond('Ready', 'True')] })).status,
      ).toBe('Current');
    });
    it('is Failed in CrashLoopBackOff', () => {
      const p = pod({
        phase: 'Running',
        containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      });
      expect(computeHealth(p)).toEqual({
        status: 'Failed',
        message: 'Container app is in CrashLoopBackOff',
      });
    });
    it('is Failed when unschedulable for more than 15 s, InProgress before', () => {
      const status = {
        phase: 'Pending',
        conditions: [cond('PodScheduled', 'False', 'Unschedulable')],
      };
      const created = Date.parse('2026-01-01T00:00:00Z');
      expect(computeHealth(pod(status), created + 5_000).status).toBe('InProgress');
      expect(computeHealth(pod(status), created + 20_000).status).toBe('Failed');
    });
    it('is InProgress without a phase', () => {
      expect(computeHealth(pod({})).status).toBe('InProgress');
    });
  });

  it('PVC is Current only when Bound', () => {
    expect(
      computeHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } })).status,
    ).toBe('InProgress');
    expect(
      computeHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } })).status,
    ).toBe('Current');
  });

  it('Service: LoadBalancer needs a clusterIP, other types are Current', () => {
    expect(computeHealth(obj('v1', 'Service', { spec: { type: 'LoadBalancer' } })).status).toBe(
      'InProgress',
    );
    expect(
      computeHealth(obj('v1', 'Service', { spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1' } }))
        .status,
    ).toBe('Current');
    expect(computeHealth(obj('v1', 'Service', { spec: { type: 'ClusterIP' } })).status).toBe(
      'Current',
    );
  });

  it('CRD: Established is Current, NamesAccepted=False is Failed, Installing is InProgress', () => {
    const crd = (conditions: unknown[]) =>
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {
        metadata: { name: 'w.example.com' },
        status: { conditions },
      });
    expect(computeHealth(crd([cond('Established', 'True')])).status).toBe('Current');
    expect(computeHealth(crd([cond('NamesAccepted', 'False', 'PluralConflict')])).status).toBe(
      'Failed',
    );
    expect(computeHealth(crd([cond('Established', 'False', 'Installing')])).status).toBe(
      'InProgress',
    );
    expect(computeHealth(crd([])).status).toBe('InProgress');
  });

  it('generic kinds follow the Ready condition and are Current without one', () => {
    const w = (conditions?: unknown[]) =>
      obj('example.com/v1', 'Widget', { status: conditions ? { conditions } : {} });
    expect(computeHealth(w()).status).toBe('Current');
    expect(computeHealth(w([cond('Ready', 'True')])).status).toBe('Current');
    expect(computeHealth(w([cond('Ready', 'False', 'Waiting', 'not yet')])).status).toBe(
      'InProgress',
    );
    expect(computeHealth(obj('v1', 'ConfigMap')).status).toBe('Current');
  });
});
