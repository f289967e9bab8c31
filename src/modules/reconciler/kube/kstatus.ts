import type { HealthResult, KubeObject } from './kube.types';

/**
 * kstatus-equivalent health rules (cli-utils `pkg/kstatus/status`), pure functions of one
 * live object. Results are Current, InProgress, Failed or Terminating.
 */

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type Dict = Record<string, unknown>;

function dict(v: unknown): Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {};
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function conditionsOf(obj: KubeObject): Condition[] {
  const raw = dict(obj.status).conditions;
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.flatMap((c: unknown) => {
    const d = dict(c);
    const type = str(d.type);
    const status = str(d.status);
    return type !== undefined && status !== undefined
      ? [{ type, status, reason: str(d.reason), message: str(d.message) }]
      : [];
  });
}

function condition(obj: KubeObject, type: string): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

const current = (message: string): HealthResult => ({ status: 'Current', message });
const inProgress = (message: string): HealthResult => ({ status: 'InProgress', message });
const failed = (message: string): HealthResult => ({ status: 'Failed', message });

function withMessage(prefix: string, c: Condition | undefined): string {
  return c?.message ? `${prefix}: ${c.message}` : prefix;
}

function deployment(obj: KubeObject): HealthResult {
  const spec = dict(obj.spec);
  const st = dict(obj.status);
  const want = num(spec.replicas) ?? 1;
  const progressing = condition(obj, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return failed(withMessage('Progress deadline exceeded', progressing));
  }
  const replicas = num(st.replicas) ?? 0;
  const updated = num(st.updatedReplicas) ?? 0;
  const ready = num(st.readyReplicas) ?? 0;
  const available = num(st.availableReplicas) ?? 0;
  if (spec.paused === true) {
    return current('Deployment is paused');
  }
  if (updated < want) {
    return inProgress(`Updated: ${updated}/${want}`);
  }
  if (replicas > want) {
    return inProgress(`Pending termination: ${replicas - want}`);
  }
  if (available < updated) {
    return inProgress(`Available: ${available}/${updated}`);
  }
  if (ready < want) {
    return inProgress(`Ready: ${ready}/${want}`);
  }
  if (replicas < want) {
    return inProgress(`Replicas: ${replicas}/${want}`);
  }
  // progressDeadlineSeconds is defaulted, so the controller reports NewReplicaSetAvailable when done.
  if (
    progressing !== undefined &&
    !(progressing.status === 'True' && progressing.reason === 'NewReplicaSetAvailable')
  ) {
    return inProgress(withMessage('Rollout in progress', progressing));
  }
  const availableCond = condition(obj, 'Available');
  if (availableCond !== undefined && availableCond.status !== 'True') {
    return inProgress(withMessage('Deployment not available', availableCond));
  }
  return current(`Deployment is available. Replicas: ${replicas}`);
}

function statefulSet(obj: KubeObject): HealthResult {
  const spec = dict(obj.spec);
  const st = dict(obj.status);
  const strategy = dict(spec.updateStrategy);
  if (strategy.type === 'OnDelete') {
    return current('StatefulSet uses OnDelete updates');
  }
  const want = num(spec.replicas) ?? 1;
  const replicas = num(st.replicas) ?? 0;
  const ready = num(st.readyReplicas) ?? 0;
  if (replicas < want) {
    return inProgress(`Replicas: ${replicas}/${want}`);
  }
  if (ready < want) {
    return inProgress(`Ready: ${ready}/${want}`);
  }
  if (replicas > want) {
    return inProgress(`Pending termination: ${replicas - want}`);
  }
  const partition = num(dict(strategy.rollingUpdate).partition);
  if (partition !== undefined) {
    const updated = num(st.updatedReplicas) ?? 0;
    if (updated < want - partition) {
      return inProgress(`Partitioned rollout: ${updated}/${want - partition} updated`);
    }
    return current(`Partitioned rollout complete. Replicas: ${replicas}`);
  }
  const currentReplicas = num(st.currentReplicas) ?? 0;
  if (currentReplicas < want) {
    return inProgress(`Current: ${currentReplicas}/${want}`);
  }
  if (st.currentRevision !== st.updateRevision) {
    return inProgress('Waiting for the update revision to become current');
  }
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
}

function daemonSet(obj: KubeObject): HealthResult {
  const st = dict(obj.status);
  if (num(st.observedGeneration) === undefined) {
    return inProgress('DaemonSet status not observed yet');
  }
  const desired = num(st.desiredNumberScheduled);
  if (desired === undefined) {
    return inProgress('Missing desiredNumberScheduled');
  }
  const checks: [string, unknown][] = [
    ['Scheduled', st.currentNumberScheduled],
    ['Updated', st.updatedNumberScheduled],
    ['Available', st.numberAvailable],
    ['Ready', st.numberReady],
  ];
  for (const [label, v] of checks) {
    const n = num(v) ?? 0;
    if (n < desired) {
      return inProgress(`${label}: ${n}/${desired}`);
    }
  }
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}

function replicaSet(obj: KubeObject): HealthResult {
  const st = dict(obj.status);
  const want = num(dict(obj.spec).replicas) ?? 1;
  for (const [label, key] of [
    ['Labelled', 'fullyLabeledReplicas'],
    ['Available', 'availableReplicas'],
    ['Ready', 'readyReplicas'],
  ] as const) {
    const n = num(st[key]) ?? 0;
    if (n < want) {
      return inProgress(`${label}: ${n}/${want}`);
    }
  }
  const replicas = num(st.replicas) ?? 0;
  if (replicas > want) {
    return inProgress(`Pending termination: ${replicas - want}`);
  }
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
}

function job(obj: KubeObject): HealthResult {
  const failedCond = condition(obj, 'Failed');
  if (failedCond?.status === 'True') {
    return failed(withMessage('Job failed', failedCond));
  }
  const complete = condition(obj, 'Complete');
  if (complete?.status === 'True') {
    return current('Job completed');
  }
  const suspended = condition(obj, 'Suspended');
  if (dict(obj.spec).suspend === true && suspended?.status === 'True') {
    return current('Job is suspended');
  }
  if (str(dict(obj.status).startTime) !== undefined) {
    return current('Job in progress');
  }
  return inProgress('Job not started');
}

/** Pending-unschedulable pods count as Failed only after this long. */
const UNSCHEDULABLE_GRACE_MS = 15_000;

function pod(obj: KubeObject, now: number): HealthResult {
  const st = dict(obj.status);
  const phase = str(st.phase) ?? '';
  switch (phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed':
      return current('Pod has completed, but not successfully');
    case 'Running': {
      if (condition(obj, 'Ready')?.status === 'True') {
        return current('Pod is Ready');
      }
      const statuses = Array.isArray(st.containerStatuses) ? st.containerStatuses : [];
      for (const cs of statuses) {
        const waiting = dict(dict(dict(cs).state).waiting);
        if (waiting.reason === 'CrashLoopBackOff') {
          return failed(`Container ${str(dict(cs).name) ?? ''} is in CrashLoopBackOff`);
        }
      }
      return inProgress('Pod is running but is not Ready');
    }
    case 'Pending': {
      const scheduled = condition(obj, 'PodScheduled');
      const created = Date.parse(str(obj.metadata.creationTimestamp) ?? '');
      if (
        scheduled?.status === 'False' &&
        scheduled.reason === 'Unschedulable' &&
        !Number.isNaN(created) &&
        now - created > UNSCHEDULABLE_GRACE_MS
      ) {
        return failed(withMessage('Pod could not be scheduled', scheduled));
      }
      return inProgress('Pod is pending');
    }
    default:
      return inProgress('Pod phase not available');
  }
}

function pvc(obj: KubeObject): HealthResult {
  return str(dict(obj.status).phase) === 'Bound'
    ? current('PVC is Bound')
    : inProgress('PVC is not Bound');
}

function service(obj: KubeObject): HealthResult {
  const spec = dict(obj.spec);
  if (spec.type === 'LoadBalancer') {
    const clusterIP = str(spec.clusterIP);
    if (clusterIP === undefined || clusterIP === '') {
      return inProgress('ClusterIP not set');
    }
  }
  return current('Service is ready');
}

function crd(obj: KubeObject): HealthResult {
  const names = condition(obj, 'NamesAccepted');
  if (names?.status === 'False') {
    return failed(withMessage('CRD names not accepted', names));
  }
  const established = condition(obj, 'Established');
  if (established?.status === 'True') {
    return current('CRD is established');
  }
  if (established?.status === 'False' && established.reason !== 'Installing') {
    return failed(withMessage('CRD is not established', established));
  }
  return inProgress('CRD is not established yet');
}

function genericReady(obj: KubeObject): HealthResult {
  const ready = condition(obj, 'Ready');
  if (ready === undefined) {
    return current('Resource is current');
  }
  return ready.status === 'True'
    ? current(withMessage('Resource is Ready', ready))
    : inProgress(withMessage('Resource is not Ready', ready));
}

/** Health of one live object, kstatus-style. */
export function computeHealth(obj: KubeObject, now: number = Date.now()): HealthResult {
  if (obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null) {
    return { status: 'Terminating', message: 'Resource is being deleted' };
  }
  const generation = num(obj.metadata.generation);
  const observed = num(dict(obj.status).observedGeneration);
  if (generation !== undefined && observed !== undefined && observed < generation) {
    return inProgress(`Generation ${generation} not observed yet (observed ${observed})`);
  }
  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') {
    return inProgress(withMessage('Resource is reconciling', reconciling));
  }
  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') {
    return failed(withMessage('Resource is stalled', stalled));
  }
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  switch (`${group}/${obj.kind}`) {
    case 'apps/Deployment':
      return deployment(obj);
    case 'apps/StatefulSet':
      return statefulSet(obj);
    case 'apps/DaemonSet':
      return daemonSet(obj);
    case 'apps/ReplicaSet':
      return replicaSet(obj);
    case 'batch/Job':
      return job(obj);
    case '/Pod':
      return pod(obj, now);
    case '/PersistentVolumeClaim':
      return pvc(obj);
    case '/Service':
      return service(obj);
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crd(obj);
    case '/ConfigMap':
    case '/Secret':
    case 'batch/CronJob':
    case 'policy/PodDisruptionBudget':
      return current('Resource is always ready');
    default:
      return genericReady(obj);
  }
}
