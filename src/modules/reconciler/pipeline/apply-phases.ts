import { conditionsOf } from 'src/modules/reconciler/kube/kstatus';
import { splitApiVersion } from 'src/modules/reconciler/kube/kube-objects';
import type { InventoryEntry } from 'src/modules/releases/releases.types';
import type { KubeObject } from 'src/modules/rendering/rendering.types';

export const HELM_HOOK = 'helm.sh/hook';
export const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
export const HELM_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';
export const ARGO_HOOK = 'argocd.argoproj.io/hook';
export const ARGO_HOOK_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
export const ARGO_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
/** gitfleet's own wave annotation, for repositories written for gitfleet. */
export const GITFLEET_WAVE = 'gitfleet.dev/apply-wave';

/**
 * Argo CD's sync phases, in their order; Helm's pre-/post- events map onto them.
 * `Test` is gitfleet's: Helm test hooks, after everything else, when the release asks.
 */
export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync' | 'Test';
export type DeletePolicy = 'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed';

/** An object created (POST) rather than applied: a hook, or one named by `generateName`. */
export interface Creation {
  object: KubeObject;
  phase: SyncPhase;
  wave: number;
  /** `pre-install`, `PostSync`…: the name the chart or repository gave it; absent for a plain generateName object. */
  hook?: string;
  policies: ReadonlySet<DeletePolicy>;
  /** Helm runs hooks one at a time (create, wait, next); Argo CD a whole wave at once. */
  oneAtATime: boolean;
}

/** One step of a run: objects applied together, then created together, then gated on. */
export interface PhaseStep {
  phase: SyncPhase;
  wave: number;
  apply: KubeObject[];
  create: Creation[];
}

export interface PhasePlan {
  steps: PhaseStep[];
  /** Argo CD `SyncFail` hooks, created when the run fails. */
  syncFail: Creation[];
  /** True when the run is the plain single apply (one Sync step, nothing created). */
  single: boolean;
}

export interface PlanOptions {
  /** Helm's install vs upgrade: the target never applied before. */
  install: boolean;
  /** Hooks and generateName objects run once per applied render (see docs/apply-phases.md). */
  runHooks: boolean;
  /**
   * Flux HelmRelease `spec.test.enable`: Helm `test` hooks (and the legacy `test-success`)
   * run after an install or upgrade, as `helm test` would; otherwise they never run.
   */
  runTests?: boolean;
}

const HELM_EVENTS = {
  install: { 'pre-install': 'PreSync', 'post-install': 'PostSync' },
  upgrade: { 'pre-upgrade': 'PreSync', 'post-upgrade': 'PostSync' },
} as const satisfies Record<string, Record<string, SyncPhase>>;

/** Helm's test events; Helm 3 still runs the Helm 2 name `test-success`. */
const HELM_TEST_EVENTS = new Set(['test', 'test-success']);

const PHASE_ORDER: Record<SyncPhase, number> = { PreSync: 0, Sync: 1, PostSync: 2, Test: 3 };

/** Argo CD's kind order (gitops-engine sync_tasks.go); kinds not listed come last. */
const ARGO_KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'Ingress',
  'APIService',
];

/** Helm's InstallOrder (releaseutil kind_sorter.go), which its hook sort uses. */
const HELM_INSTALL_ORDER = [
  'PriorityClass',
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

function annotation(obj: KubeObject, key: string): string | undefined {
  const value = obj.metadata.annotations?.[key];
  return typeof value === 'string' ? value : undefined;
}

function csv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Helm's and Argo CD's `strconv.Atoi`: anything but an integer counts as 0. */
function intOf(value: string | undefined): number {
  const text = value?.trim() ?? '';
  return /^[-+]?\d+$/.test(text) ? Number.parseInt(text, 10) : 0;
}

/**
 * Delete policies; none given means `before-hook-creation` (Helm's execHook default,
 * and Argo CD's). Helm's names map onto Argo CD's.
 */
function policiesOf(values: readonly string[]): Set<DeletePolicy> {
  const names: Record<string, DeletePolicy> = {
    'before-hook-creation': 'BeforeHookCreation',
    'hook-succeeded': 'HookSucceeded',
    'hook-failed': 'HookFailed',
    BeforeHookCreation: 'BeforeHookCreation',
    HookSucceeded: 'HookSucceeded',
    HookFailed: 'HookFailed',
  };
  if (values.length === 0) {
    return new Set(['BeforeHookCreation']);
  }
  return new Set(values.flatMap((v) => (names[v] === undefined ? [] : [names[v]])));
}

export function generateNameOf(obj: KubeObject): string | undefined {
  const value = obj.metadata.generateName;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Named by the cluster on create: `generateName` and no name. */
export function isGenerated(obj: KubeObject): boolean {
  return (obj.metadata.name ?? '') === '' && generateNameOf(obj) !== undefined;
}

/**
 * What one object is in this run: applied in a Sync wave, created in a phase, or
 * nothing (a hook of another event, a test hook, Argo CD `Skip`).
 */
function classify(
  obj: KubeObject,
  options: PlanOptions,
): { apply: { wave: number } } | { create: Creation[] } | { skip: true } {
  const argo = csv(annotation(obj, ARGO_HOOK));
  // Argo CD: its own hook annotation wins over Helm's.
  if (argo.length > 0) {
    if (argo.includes('Skip')) {
      return { skip: true };
    }
    const wave = intOf(annotation(obj, ARGO_SYNC_WAVE));
    const policies = policiesOf(csv(annotation(obj, ARGO_HOOK_DELETE_POLICY)));
    const phases = argo.filter(
      (v): v is SyncPhase | 'SyncFail' =>
        v === 'PreSync' || v === 'Sync' || v === 'PostSync' || v === 'SyncFail',
    );
    // PreDelete/PostDelete and unknown values: not part of a sync.
    return {
      create: phases.map((phase) => ({
        object: obj,
        // SyncFail hooks are set apart by the caller (phase kept as PostSync-ordered).
        phase: phase === 'SyncFail' ? 'PostSync' : phase,
        wave,
        hook: phase,
        policies,
        oneAtATime: false,
      })),
    };
  }
  const helm = csv(annotation(obj, HELM_HOOK));
  if (helm.length > 0) {
    const events: Record<string, SyncPhase> = options.install
      ? HELM_EVENTS.install
      : HELM_EVENTS.upgrade;
    const policies = policiesOf(csv(annotation(obj, HELM_HOOK_DELETE_POLICY)));
    const wave = intOf(annotation(obj, HELM_HOOK_WEIGHT));
    // pre/post-delete, pre/post-rollback, crd-install, and test unless asked: not this run.
    return {
      create: helm.flatMap((event) => {
        const phase: SyncPhase | undefined =
          options.runTests === true && HELM_TEST_EVENTS.has(event) ? 'Test' : events[event];
        return phase === undefined
          ? []
          : [{ object: obj, phase, wave, hook: event, policies, oneAtATime: true }];
      }),
    };
  }
  const wave = intOf(annotation(obj, GITFLEET_WAVE) ?? annotation(obj, ARGO_SYNC_WAVE));
  if (isGenerated(obj)) {
    return {
      create: [{ object: obj, phase: 'Sync', wave, policies: new Set(), oneAtATime: false }],
    };
  }
  return { apply: { wave } };
}

/**
 * Hooks of a release leaving the cluster. `before` its objects are deleted: Helm
 * `pre-delete` (one at a time, hookByWeight order) and Argo CD `PreDelete` (by wave,
 * kind, name); `after` they are: Helm `post-delete` and Argo CD `PostDelete`, the same way.
 */
export function planDeleteHooks(
  objects: readonly KubeObject[],
  when: 'before' | 'after' = 'before',
): Creation[] {
  const argoHook = when === 'before' ? 'PreDelete' : 'PostDelete';
  const helmHook = when === 'before' ? 'pre-delete' : 'post-delete';
  const hooks: Creation[] = [];
  for (const obj of objects) {
    const argo = csv(annotation(obj, ARGO_HOOK));
    if (argo.length > 0) {
      if (argo.includes(argoHook)) {
        hooks.push({
          object: obj,
          phase: 'PreSync',
          wave: intOf(annotation(obj, ARGO_SYNC_WAVE)),
          hook: argoHook,
          policies: policiesOf(csv(annotation(obj, ARGO_HOOK_DELETE_POLICY))),
          oneAtATime: false,
        });
      }
      continue;
    }
    if (csv(annotation(obj, HELM_HOOK)).includes(helmHook)) {
      hooks.push({
        object: obj,
        phase: 'PreSync',
        wave: intOf(annotation(obj, HELM_HOOK_WEIGHT)),
        hook: helmHook,
        policies: policiesOf(csv(annotation(obj, HELM_HOOK_DELETE_POLICY))),
        oneAtATime: true,
      });
    }
  }
  return hooks.sort(
    (a, b) =>
      a.wave - b.wave ||
      (a.oneAtATime && b.oneAtATime ? helmHookLess(a, b) : argoLess(a.object, b.object)),
  );
}

function argoKindRank(kind: string): number {
  const i = ARGO_KIND_ORDER.indexOf(kind);
  return i < 0 ? ARGO_KIND_ORDER.length : i;
}

/** Helm's hookByWeight: weight, then InstallOrder kind (unknown kinds last, by kind), then name. */
function helmHookLess(a: Creation, b: Creation): number {
  const ia = HELM_INSTALL_ORDER.indexOf(a.object.kind);
  const ib = HELM_INSTALL_ORDER.indexOf(b.object.kind);
  if (ia < 0 || ib < 0) {
    if (ia >= 0) {
      return -1;
    }
    if (ib >= 0) {
      return 1;
    }
    if (a.object.kind !== b.object.kind) {
      return a.object.kind < b.object.kind ? -1 : 1;
    }
  } else if (ia !== ib) {
    return ia - ib;
  }
  return compareNames(a.object, b.object);
}

function compareNames(a: KubeObject, b: KubeObject): number {
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Argo CD's task order inside a phase and wave: kind order, then name. */
function argoLess(a: KubeObject, b: KubeObject): number {
  return argoKindRank(a.kind) - argoKindRank(b.kind) || compareNames(a, b);
}

/**
 * The run's steps: phase (PreSync, Sync, PostSync), then wave (Argo CD sync-wave,
 * gitfleet apply-wave, Helm hook-weight), ascending; inside a step Argo CD's kind
 * and name order, Helm hooks in Helm's hookByWeight order.
 */
export function planPhases(objects: readonly KubeObject[], options: PlanOptions): PhasePlan {
  const steps = new Map<string, PhaseStep>();
  const syncFail: Creation[] = [];
  const stepOf = (phase: SyncPhase, wave: number): PhaseStep => {
    const key = `${PHASE_ORDER[phase]}:${wave}`;
    let step = steps.get(key);
    if (step === undefined) {
      step = { phase, wave, apply: [], create: [] };
      steps.set(key, step);
    }
    return step;
  };
  for (const obj of objects) {
    const what = classify(obj, options);
    if ('apply' in what) {
      stepOf('Sync', what.apply.wave).apply.push(obj);
    } else if ('create' in what) {
      for (const c of what.create) {
        if (c.hook === 'SyncFail') {
          syncFail.push(c);
        } else if (options.runHooks) {
          stepOf(c.phase, c.wave).create.push(c);
        }
      }
    }
  }
  const ordered = [...steps.values()].sort(
    (a, b) => PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || a.wave - b.wave,
  );
  for (const step of ordered) {
    // The applier keeps its own staged order (CRDs, Namespaces, Helm install order).
    step.create.sort((a, b) =>
      a.oneAtATime && b.oneAtATime ? helmHookLess(a, b) : argoLess(a.object, b.object),
    );
  }
  syncFail.sort((a, b) => a.wave - b.wave || argoLess(a.object, b.object));
  const single =
    ordered.length <= 1 && ordered.every((s) => s.phase === 'Sync' && s.create.length === 0);
  return { steps: ordered, syncFail: options.runHooks ? syncFail : [], single };
}

/** Where a created hook stands: Helm's WatchUntilReady (Jobs complete, Pods succeed). */
export type HookState = { done: false } | { done: true; failed?: string };

export function hookState(live: KubeObject): HookState {
  const { group } = splitApiVersion(live.apiVersion);
  if (group === 'batch' && live.kind === 'Job') {
    const conditions = conditionsOf(live);
    const failedCond = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failedCond !== undefined) {
      return { done: true, failed: failedCond.message ?? failedCond.reason ?? 'Job failed' };
    }
    const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
    return complete ? { done: true } : { done: false };
  }
  if (group === '' && live.kind === 'Pod') {
    const phase = (live.status as { phase?: unknown } | undefined)?.phase;
    if (phase === 'Failed') {
      return { done: true, failed: 'Pod failed' };
    }
    return phase === 'Succeeded' ? { done: true } : { done: false };
  }
  // Other kinds are ready once created, as in Helm.
  return { done: true };
}

/** Identity of a created object across runs: kind, namespace and name or generateName. */
export function creationKey(obj: KubeObject | InventoryEntry): string {
  if ('metadata' in obj) {
    const { group } = splitApiVersion(obj.apiVersion);
    const name = isGenerated(obj) ? `${generateNameOf(obj) ?? ''}*` : obj.metadata.name;
    return `${group}/${obj.kind}/${obj.metadata.namespace ?? ''}/${name ?? ''}`;
  }
  const name = obj.generateName === undefined ? obj.name : `${obj.generateName}*`;
  return `${obj.group}/${obj.kind}/${obj.namespace ?? ''}/${name}`;
}
