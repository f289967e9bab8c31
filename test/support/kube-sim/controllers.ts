import type { ClusterEngine, WriteHooks } from 'test/support/kube-sim/engine';
import type { ResourceType } from 'test/support/kube-sim/schema';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { getPath, nowRfc3339 } from 'test/support/kube-sim/types';

/** Annotations that steer the simulated controllers per object. */
export const ANNOTATIONS = {
  readyAfterMs: 'kube-sim.gitfleet.dev/ready-after-ms',
  fail: 'kube-sim.gitfleet.dev/fail',
  neverReady: 'kube-sim.gitfleet.dev/never-ready',
  neverObserve: 'kube-sim.gitfleet.dev/never-observe',
} as const;

export interface ControllerOptions {
  /** Default delay before a workload reports ready. */
  readyAfterMs: number;
}

const MANAGED = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ReplicaSet',
  'batch/Job',
  '/Pod',
  '/PersistentVolumeClaim',
]);

function cond(
  type: string,
  status: boolean,
  reason: string,
  message: string,
  now: string,
  withUpdate = false,
): Dict {
  const c: Dict = { type, status: status ? 'True' : 'False' };
  if (withUpdate) {
    c.lastUpdateTime = now;
  }
  c.lastTransitionTime = now;
  c.reason = reason;
  c.message = message;
  return c;
}

function hash(s: string): string {
  let h = 2166136261;
  for (const ch of s) {
    h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  }
  return h.toString(36).slice(0, 10);
}

/**
 * Simulated kube-controller-manager: drives workload status so health checks
 * (kstatus-style) see InProgress → Current, or Failed / never ready when annotated.
 */
export class SimulatedControllers implements WriteHooks {
  constructor(
    private readonly engine: ClusterEngine,
    readonly options: ControllerOptions,
  ) {}

  afterDelete(): void {}

  afterWrite(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    if (!MANAGED.has(`${rt.group}/${rt.kind}`) || obj.metadata.deletionTimestamp) {
      return;
    }
    const gen = obj.metadata.generation ?? 0;
    const annotationsChanged =
      JSON.stringify(old?.metadata.annotations ?? {}) !==
      JSON.stringify(obj.metadata.annotations ?? {});
    if (old && old.metadata.generation === gen && !annotationsChanged) {
      return;
    }
    const ann = obj.metadata.annotations ?? {};
    if (ann[ANNOTATIONS.neverObserve] !== undefined) {
      return;
    }
    const delay = Number(ann[ANNOTATIONS.readyAfterMs] ?? this.options.readyAfterMs);
    const failing = ann[ANNOTATIONS.fail] !== undefined;
    const neverReady = ann[ANNOTATIONS.neverReady] !== undefined;
    const ns = obj.metadata.namespace;
    const name = obj.metadata.name ?? '';
    const uid = obj.metadata.uid;
    const step = (phase: 'progress' | 'done'): void => {
      const cur = this.engine.getObject(rt.group, rt.plural, ns ?? '', name);
      if (
        !cur ||
        cur.metadata.uid !== uid ||
        cur.metadata.deletionTimestamp ||
        (cur.metadata.generation ?? 0) !== gen
      ) {
        return;
      }
      const status = this.statusFor(
        rt.kind,
        cur,
        phase === 'done' ? (failing ? 'failed' : 'ready') : 'progress',
      );
      if (status) {
        this.engine.controllerStatus(rt, ns, name, 'kube-controller-manager', status);
      }
      // Scheduled from the progress step, not beside it: timers of different delays can
      // fire out of order when the event loop lags, and a late progress would undo done.
      if (phase === 'progress' && !neverReady) {
        this.engine.schedule(Math.max(1, Number.isFinite(delay) ? delay : 0), () => step('done'));
      }
    };
    this.engine.schedule(0, () => step('progress'));
  }

  private statusFor(
    kind: string,
    obj: KubeObject,
    phase: 'progress' | 'ready' | 'failed',
  ): Dict | undefined {
    const now = nowRfc3339();
    const gen = obj.metadata.generation;
    const prev = (obj.status ?? {}) as Dict;
    const replicas = Number(getPath(obj, 'spec', 'replicas') ?? 1);
    const ready = phase === 'ready';
    const name = obj.metadata.name ?? '';
    switch (kind) {
      case 'Deployment': {
        const conditions =
          phase === 'failed'
            ? [
                cond(
                  'Available',
                  false,
                  'MinimumReplicasUnavailable',
                  'Deployment does not have minimum availability.',
                  now,
                  true,
                ),
                cond(
                  'Progressing',
                  false,
                  'ProgressDeadlineExceeded',
                  `ReplicaSet "${name}-${hash(String(gen))}" has timed out progressing.`,
                  now,
                  true,
                ),
              ]
            : [
                ready
                  ? cond(
                      'Available',
                      true,
                      'MinimumReplicasAvailable',
                      'Deployment has minimum availability.',
                      now,
                      true,
                    )
                  : cond(
                      'Available',
                      false,
                      'MinimumReplicasUnavailable',
                      'Deployment does not have minimum availability.',
                      now,
                      true,
                    ),
                ready
                  ? cond(
                      'Progressing',
                      true,
                      'NewReplicaSetAvailable',
                      `ReplicaSet "${name}-${hash(String(gen))}" has successfully progressed.`,
                      now,
                      true,
                    )
                  : cond(
                      'Progressing',
                      true,
                      'ReplicaSetUpdated',
                      `ReplicaSet "${name}-${hash(String(gen))}" is progressing.`,
                      now,
                      true,
                    ),
              ];
        const s: Dict = {
          observedGeneration: gen,
          replicas,
          updatedReplicas: ready ? replicas : 0,
        };
        if (ready) {
          s.readyReplicas = replicas;
          s.availableReplicas = replicas;
        } else {
          s.unavailableReplicas = replicas;
        }
        s.conditions = conditions;
        return replicas === 0 ? { observedGeneration: gen, conditions } : s;
      }
      case 'StatefulSet': {
        const rev = `${name}-${hash(String(gen))}`;
        const n = ready ? replicas : 0;
        return {
          observedGeneration: gen,
          replicas,
          readyReplicas: n,
          currentReplicas: n,
          updatedReplicas: n,
          availableReplicas: n,
          currentRevision: ready ? rev : (prev.currentRevision ?? rev),
          updateRevision: rev,
          collisionCount: 0,
        };
      }
      case 'DaemonSet': {
        const n = ready ? 1 : 0;
        return {
          observedGeneration: gen,
          desiredNumberScheduled: 1,
          currentNumberScheduled: 1,
          numberMisscheduled: 0,
          numberReady: n,
          numberAvailable: n,
          updatedNumberScheduled: n,
          ...(ready ? {} : { numberUnavailable: 1 }),
        };
      }
      case 'ReplicaSet': {
        const n = ready ? replicas : 0;
        return {
          observedGeneration: gen,
          replicas,
          fullyLabeledReplicas: replicas,
          readyReplicas: n,
          availableReplicas: n,
        };
      }
      case 'Job': {
        const completions = Number(getPath(obj, 'spec', 'completions') ?? 1);
        const startTime = (prev.startTime as string | undefined) ?? now;
        if (phase === 'progress') {
          return { startTime, active: 1, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
        }
        if (phase === 'failed') {
          return {
            startTime,
            failed: Number(getPath(obj, 'spec', 'backoffLimit') ?? 6) + 1,
            ready: 0,
            terminating: 0,
            uncountedTerminatedPods: {},
            conditions: [
              cond(
                'FailureTarget',
                true,
                'BackoffLimitExceeded',
                'Job has reached the specified backoff limit',
                now,
              ),
              cond(
                'Failed',
                true,
                'BackoffLimitExceeded',
                'Job has reached the specified backoff limit',
                now,
              ),
            ],
          };
        }
        return {
          startTime,
          completionTime: now,
          succeeded: completions,
          ready: 0,
          terminating: 0,
          uncountedTerminatedPods: {},
          conditions: [
            cond(
              'SuccessCriteriaMet',
              true,
              'CompletionsReached',
              'Reached expected number of succeeded pods',
              now,
            ),
            cond(
              'Complete',
              true,
              'CompletionsReached',
              'Reached expected number of succeeded pods',
              now,
            ),
          ],
        };
      }
      case 'Pod': {
        // A pod whose container is not restarted once it exits (test hooks, one-shot pods)
        // runs to its end: Succeeded, or with the fail annotation and `Never`, Failed.
        // `OnFailure` with the fail annotation crash-loops like any other pod, below.
        const restartPolicy = getPath(obj, 'spec', 'restartPolicy');
        const oneShot = restartPolicy === 'Never' || restartPolicy === 'OnFailure';
        if (oneShot && (phase === 'ready' || (phase === 'failed' && restartPolicy === 'Never'))) {
          const ok = phase === 'ready';
          return {
            phase: ok ? 'Succeeded' : 'Failed',
            startTime: now,
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
            ],
            containerStatuses: (
              (getPath(obj, 'spec', 'containers') as Dict[] | undefined) ?? []
            ).map((c) => ({
              name: c.name,
              image: c.image,
              ready: false,
              restartCount: 0,
              state: {
                terminated: { exitCode: ok ? 0 : 1, reason: ok ? 'Completed' : 'Error' },
              },
            })),
          };
        }
        if (phase === 'failed') {
          return {
            phase: 'Running',
            conditions: [
              cond('Ready', false, 'ContainersNotReady', 'containers with unready status', now),
            ],
            containerStatuses: (
              (getPath(obj, 'spec', 'containers') as Dict[] | undefined) ?? []
            ).map((c) => ({
              name: c.name,
              image: c.image,
              ready: false,
              restartCount: 5,
              state: {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: 'back-off restarting failed container',
                },
              },
            })),
          };
        }
        return {
          phase: ready ? 'Running' : 'Pending',
          ...(ready ? { podIP: '10.244.0.10' } : {}),
          startTime: now,
          conditions: [
            cond('PodScheduled', true, '', '', now),
            ready
              ? cond('Ready', true, '', '', now)
              : cond('Ready', false, 'ContainersNotReady', 'containers with unready status', now),
          ].map((c) => {
            if (c.reason === '') {
              delete c.reason;
              delete c.message;
            }
            return c;
          }),
        };
      }
      case 'PersistentVolumeClaim':
        return ready
          ? {
              phase: 'Bound',
              accessModes: getPath(obj, 'spec', 'accessModes') ?? ['ReadWriteOnce'],
            }
          : undefined;
      default:
        return undefined;
    }
  }
}
