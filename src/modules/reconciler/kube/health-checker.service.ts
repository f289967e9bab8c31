import { Injectable } from '@nestjs/common';
import { mapLimit } from 'src/common/async/map-limit';
import { backoffDelay, KubeClock } from './kube-clock';
import { KubeError } from 'src/common/kube/kube.errors';
import { refKey, refOf, refString } from './kube-objects';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { serviceAccountUser, type ServiceAccountRef } from './applier.service';
import { computeHealth } from './kstatus';
import { hasStatus, HealthRules, isCustomResource, NOT_OBSERVED_GRACE_MS } from './object-health';
import type { ReleaseHealthCheckExpr } from 'src/modules/releases/releases.types';
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
  /** Flux `healthCheckExprs`: CEL health for the group/kinds they name. */
  exprs?: readonly ReleaseHealthCheckExpr[];
  /** How long an unobserved custom resource is waited for (default NOT_OBSERVED_GRACE_MS, at most half the timeout). */
  notObservedGraceMs?: number;
  /**
   * Told the objects not yet healthy once the wait has lasted `progressAfterMs`
   * (default 0: from the start), then whenever that set changes.
   */
  onPending?: (pending: readonly ObjectHealth[]) => Promise<void>;
  progressAfterMs?: number;
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
    const startedAt = this.clock.now();
    const deadline = startedAt + opts.timeoutMs;
    const rules = new HealthRules(opts.exprs);
    const graceMs = Math.min(opts.notObservedGraceMs ?? NOT_OBSERVED_GRACE_MS, opts.timeoutMs / 2);
    let reported: string | undefined;
    const state = new Map<string, ObjectHealth>();
    const resourceVersions: Record<string, string> = {};
    const known = new Map((opts.initial ?? []).map((o) => [refKey(refOf(o)), o]));
    const statusExpected = new Map<string, Promise<boolean>>();
    const observe = async (ref: ObjectRef, live: KubeObject | undefined): Promise<void> => {
      const key = refKey(ref);
      if (!live) {
        state.set(key, { ref, status: 'NotFound', message: 'Resource not found' });
        return;
      }
      if (live.metadata.resourceVersion !== undefined) {
        resourceVersions[key] = live.metadata.resourceVersion;
      }
      const expected =
        isCustomResource(live) && !hasStatus(live)
          ? await this.statusSubresourceDeclared(api, live, statusExpected, opts.signal)
          : false;
      const now = this.clock.now();
      state.set(key, {
        ref,
        ...rules.assess(live, {
          now,
          waitingForMs: now - startedAt,
          graceMs,
          statusExpected: expected,
        }),
      });
    };
    let pending = targets;
    let polls = 0;
    for (let attempt = 0; ; attempt++) {
      const toRead = pending.filter((r) => attempt > 0 || !known.has(refKey(r)));
      for (const r of pending) {
        if (attempt === 0 && known.has(refKey(r))) {
          await observe(r, known.get(refKey(r)));
        }
      }
      if (toRead.length > 0) {
        polls++;
        try {
          await mapLimit(toRead, opts.concurrency ?? 8, async (ref) => {
            await observe(ref, await api.get(ref, { impersonate, signal: opts.signal }));
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
          return { ...this.result(targets, state, resourceVersions, false, polls), readError: e };
        }
      }
      pending = pending.filter((r) => state.get(refKey(r))?.status !== 'Current');
      const anyFailed = pending.some((r) => state.get(refKey(r))?.status === 'Failed');
      const pendingKeys = pending.map(refKey).join('\n');
      if (
        opts.onPending !== undefined &&
        !anyFailed &&
        pending.length > 0 &&
        pendingKeys !== reported &&
        this.clock.now() - startedAt >= (opts.progressAfterMs ?? 0)
      ) {
        reported = pendingKeys;
        await opts.onPending(pending.map((r) => state.get(refKey(r))!));
      }
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

  /**
   * Whether the object's CRD declares a status subresource for its version, read
   * once per kind and wait with gitfleet's own identity (a tenant may not read
   * CRDs); unknown counts as no.
   */
  private statusSubresourceDeclared(
    api: KubeApi,
    obj: KubeObject,
    cache: Map<string, Promise<boolean>>,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const key = `${obj.apiVersion}/${obj.kind}`;
    let answer = cache.get(key);
    if (answer === undefined) {
      answer = (async (): Promise<boolean> => {
        try {
          const info = await api.resource(obj.apiVersion, obj.kind);
          if (info === undefined) {
            return false;
          }
          const crd = await api.get(
            {
              group: 'apiextensions.k8s.io',
              version: 'v1',
              kind: 'CustomResourceDefinition',
              name: `${info.plural}.${info.group}`,
            },
            { signal },
          );
          const versions = (crd?.spec as { versions?: unknown } | undefined)?.versions;
          return (
            Array.isArray(versions) &&
            versions.some(
              (v: { name?: unknown; subresources?: { status?: unknown } }) =>
                v.name === info.version && v.subresources?.status !== undefined,
            )
          );
        } catch {
          return false;
        }
      })();
      cache.set(key, answer);
    }
    return answer;
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
  const parts = result.failing.slice(0, max).map((f) =>
    // NotObserved names the object and the cause itself.
    f.reason === 'NotObserved' ? f.message : `${refString(f.ref)}: ${f.status} (${f.message})`,
  );
  const more = result.failing.length > max ? ` and ${result.failing.length - max} more` : '';
  const prefix = result.timedOut ? 'timeout waiting for' : 'unhealthy';
  return `${prefix}: ${parts.join('; ')}${more}`;
}
