import { Injectable } from '@nestjs/common';
import { backoffDelay, KubeClock, mapLimit } from './kube-clock';
import { KubeError } from './kube.errors';
import { refKey, refOf, refString } from './kube-objects';
import type { KubeApi } from './kube-api.client';
import { serviceAccountUser, type ServiceAccountRef } from './applier.service';
import { computeHealth } from './kstatus';
import type { KubeObject, ObjectHealth, ObjectRef, WaitForHealthyResult } from './kube.types';

export interface WaitForHealthyOptions {
  timeoutMs: number;
  serviceAccount?: ServiceAccountRef;
  /** Live objects already known (e.g. `ObjectApplyResult.live`): the first round reads nothing for them. */
  initial?: readonly KubeObject[];
  /** Poll interval bounds: starts at `minPollMs` (default 250), doubles up to `maxPollMs` (default 2000). */
  minPollMs?: number;
  maxPollMs?: number;
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Waits until every object is Current (kstatus rules), one is Failed, or the deadline.
 * Polls only the objects not yet Current, with backoff, so requests stay bounded:
 * at most (objects × polls), and polls grow logarithmically with the timeout.
 */
@Injectable()
export class HealthChecker {
  constructor(private readonly clock: KubeClock) {}

  /** Health of one live object (pure). */
  check(obj: KubeObject): ObjectHealth {
    return { ref: refOf(obj), ...computeHealth(obj, this.clock.now()) };
  }

  async waitForHealthy(
    api: KubeApi,
    refs: readonly (ObjectRef | KubeObject)[],
    opts: WaitForHealthyOptions,
  ): Promise<WaitForHealthyResult> {
    const impersonate = opts.serviceAccount ? serviceAccountUser(opts.serviceAccount) : undefined;
    const targets = refs.map((r) => ('metadata' in r ? refOf(r) : r));
    const deadline = this.clock.now() + opts.timeoutMs;
    const state = new Map<string, ObjectHealth>();
    const resourceVersions: Record<string, string> = {};
    const known = new Map((opts.initial ?? []).map((o) => [refKey(refOf(o)), o]));
    const observe = (ref: ObjectRef, live: KubeObject | undefined): void => {
      const key = refKey(ref);
      if (!live) {
        state.set(key, { ref, status: 'NotFound', message: 'Resource not found' });
        return;
      }
      if (live.metadata.resourceVersion !== undefined) {
        resourceVersions[key] = live.metadata.resourceVersion;
      }
      state.set(key, { ref, ...computeHealth(live, this.clock.now()) });
    };
    let pending = targets;
    let polls = 0;
    for (let attempt = 0; ; attempt++) {
      const toRead = pending.filter((r) => attempt > 0 || !known.has(refKey(r)));
      for (const r of pending) {
        if (attempt === 0 && known.has(refKey(r))) {
          observe(r, known.get(refKey(r)));
        }
      }
      if (toRead.length > 0) {
        polls++;
        try {
          await mapLimit(toRead, opts.concurrency ?? 8, async (ref) => {
            observe(ref, await api.get(ref, { impersonate, signal: opts.signal }));
          });
        } catch (e) {
          if (!(e instanceof KubeError)) {
            throw e;
          }
          // The cluster failed while waiting: report every pending object with that reason.
          for (const ref of pending) {
            const key = refKey(ref);
            const prior = state.get(key);
            state.set(key, {
              ref,
              status: prior?.status === 'Current' ? 'Current' : 'InProgress',
              message: `health check failed: ${e.message}`,
            });
          }
          return this.result(targets, state, resourceVersions, false, polls);
        }
      }
      pending = pending.filter((r) => state.get(refKey(r))?.status !== 'Current');
      const anyFailed = pending.some((r) => state.get(refKey(r))?.status === 'Failed');
      if (pending.length === 0 || anyFailed) {
        return this.result(targets, state, resourceVersions, false, polls);
      }
      const now = this.clock.now();
      if (now >= deadline || opts.signal?.aborted === true) {
        return this.result(targets, state, resourceVersions, true, polls);
      }
      const delay = Math.min(
        backoffDelay(attempt, opts.maxPollMs ?? 2_000, opts.minPollMs ?? 250),
        deadline - now,
      );
      await this.clock.sleep(delay, opts.signal);
    }
  }

  private result(
    targets: readonly ObjectRef[],
    state: Map<string, ObjectHealth>,
    resourceVersions: Record<string, string>,
    timedOut: boolean,
    polls: number,
  ): WaitForHealthyResult {
    const objects = targets.map(
      (ref) =>
        state.get(refKey(ref)) ?? { ref, status: 'InProgress' as const, message: 'not checked' },
    );
    const failing = objects.filter((o) => o.status !== 'Current');
    return {
      healthy: failing.length === 0,
      timedOut: timedOut && failing.length > 0,
      failing,
      objects,
      resourceVersions,
      polls,
    };
  }
}

/** `HealthCheckFailed` message naming the failing objects (bounded). */
export function healthFailureMessage(result: WaitForHealthyResult, max = 10): string {
  const parts = result.failing
    .slice(0, max)
    .map((f) => `${refString(f.ref)}: ${f.status} (${f.message})`);
  const more = result.failing.length > max ? ` and ${result.failing.length - max} more` : '';
  const prefix = result.timedOut ? 'timeout waiting for' : 'unhealthy';
  return `${prefix}: ${parts.join('; ')}${more}`;
}
