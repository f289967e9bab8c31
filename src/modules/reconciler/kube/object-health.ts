import { groupKindOf, HealthExprEvaluator } from 'src/modules/releases/health-check-exprs';
import type { ReleaseHealthCheckExpr } from 'src/modules/releases/releases.types';
import { computeHealth } from './kstatus';
import type { HealthResult, KubeObject } from './kube.types';

/**
 * How long a custom resource may sit with `status.observedGeneration` below
 * `metadata.generation` before the wait stops with `NotObserved`: a running
 * controller observes a new generation within a second or two, so ten seconds
 * of silence means there is none (CRDs often default it to -1). Never more than
 * half the release's timeout. The same holds for a custom resource with no
 * status at all whose CRD declares a status subresource (kstatus would call it
 * Current; without the subresource it still is, e.g. config-only kinds).
 */
export const NOT_OBSERVED_GRACE_MS = 10_000;

/** `healthCheckExprs` compiled by group/kind; the first entry for a group/kind wins (as in Flux). */
export class HealthRules {
  private readonly byGroupKind = new Map<string, HealthExprEvaluator>();

  constructor(exprs: readonly ReleaseHealthCheckExpr[] = []) {
    for (const e of exprs) {
      const key = groupKindOf(e.apiVersion, e.kind);
      if (!this.byGroupKind.has(key)) {
        this.byGroupKind.set(key, new HealthExprEvaluator(e));
      }
    }
  }

  /**
   * Health of one live object: a matching CEL entry replaces kstatus for its
   * group/kind (Flux's custom status readers); a custom resource no controller
   * has observed after the grace is Failed with reason NotObserved.
   */
  assess(obj: KubeObject, at: AssessAt): HealthResult {
    if (obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null) {
      return { status: 'Terminating', message: 'Resource is being deleted' };
    }
    if (at.statusExpected === true && isCustomResource(obj) && !hasStatus(obj)) {
      if (at.waitingForMs < at.graceMs) {
        return { status: 'InProgress', message: 'Waiting for a controller to write status' };
      }
      return {
        status: 'Failed',
        reason: 'NotObserved',
        message:
          `${obj.kind}/${obj.metadata.name ?? ''} has not been observed by a controller: ` +
          `no status after ${Math.round(at.waitingForMs / 1000)}s although its CRD has a status ` +
          'subresource; is its controller installed?',
      };
    }
    const unobserved = unobservedGeneration(obj);
    if (unobserved !== undefined && isCustomResource(obj) && at.waitingForMs >= at.graceMs) {
      return {
        status: 'Failed',
        reason: 'NotObserved',
        message:
          `${obj.kind}/${obj.metadata.name ?? ''} has not been observed by a controller: ` +
          `status.observedGeneration ${unobserved.observed} < generation ${unobserved.generation}; ` +
          'is its controller installed?',
      };
    }
    const rule = this.byGroupKind.get(groupKindOf(obj.apiVersion, obj.kind));
    if (rule === undefined) {
      return computeHealth(obj, at.now);
    }
    // Flux's StatusEvaluator: an unobserved generation is InProgress before any expression.
    if (unobserved !== undefined) {
      return {
        status: 'InProgress',
        message: `Generation ${unobserved.generation} not observed yet (observed ${unobserved.observed})`,
      };
    }
    return rule.evaluate(obj);
  }
}

export interface AssessAt {
  now: number;
  /** Since when the wait runs, for the NotObserved grace. */
  waitingForMs: number;
  graceMs: number;
  /** The object's CRD declares a status subresource: a controller is meant to write it. */
  statusExpected?: boolean;
}

/** Status with any field; an empty object is what a status subresource starts as. */
export function hasStatus(obj: KubeObject): boolean {
  const status = obj.status;
  return (
    status !== null &&
    typeof status === 'object' &&
    !Array.isArray(status) &&
    Object.keys(status).length > 0
  );
}

function unobservedGeneration(
  obj: KubeObject,
): { observed: number; generation: number } | undefined {
  const generation = obj.metadata.generation;
  const status = obj.status;
  const observed =
    status !== null && typeof status === 'object' && !Array.isArray(status)
      ? (status as Record<string, unknown>).observedGeneration
      : undefined;
  return typeof generation === 'number' && typeof observed === 'number' && observed < generation
    ? { observed, generation }
    : undefined;
}

/** Built-in groups have their controllers in every cluster; CRD groups need one installed. */
export function isCustomResource(obj: KubeObject): boolean {
  const slash = obj.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : obj.apiVersion.slice(0, slash);
  return group.includes('.') && !group.endsWith('.k8s.io');
}
