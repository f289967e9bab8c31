import { MAX_CONDITION_MESSAGE, truncateMessage } from 'src/common/conditions/conditions';
import { isKubeError, type KubeError, type KubeRequestInfo } from 'src/common/kube/kube.errors';
import { Reason } from 'src/modules/reconciler/conditions';
import { refString } from 'src/modules/reconciler/kube/kube-objects';
import type { ObjectError, ObjectRef } from 'src/modules/reconciler/kube/kube.types';

/** Who a run acted as and where: named in messages about refusals. */
export interface ActingAs {
  /** The impersonated user, e.g. `system:serviceaccount:apps:deployer`. */
  identity: string;
  cluster: string;
}

/** One object's failure, already worded. */
export interface FailureLine {
  ref: ObjectRef;
  text: string;
}

// The answer an apiserver gives for a path it does not serve (a group/version or
// resource that has no CRD behind it), as opposed to a missing object.
const NOT_SERVED = /the server could not find the requested resource/i;

/** Which failures say "the kind is not installed": no REST mapping, or a 404 for the resource path. */
export function isMissingKind(error: { code: string; message: string }): boolean {
  return (
    error.code === 'UnknownKind' || (error.code === 'NotFound' && NOT_SERVED.test(error.message))
  );
}

/**
 * The reason that names the real cause of per-object failures: an RBAC refusal
 * first (only the platform team can fix it), then a kind with no CRD; undefined
 * when neither, so the caller keeps its own (ApplyFailed, PruneFailed, ...).
 */
export function reasonOfObjectErrors(errors: readonly ObjectError[]): Reason | undefined {
  if (errors.some((e) => e.code === 'Forbidden')) {
    return Reason.Forbidden;
  }
  if (errors.some(isMissingKind)) {
    return Reason.MissingCustomResourceDefinition;
  }
  return undefined;
}

/** `patch (dry-run) deployments.apps`: the refused request as RBAC names it. */
function requestText(request: KubeRequestInfo | undefined, ref: ObjectRef | undefined): string {
  const verb = request?.verb ?? 'access';
  const resource = request?.resource ?? (ref === undefined ? 'the resource' : ref.kind);
  return `${verb}${request?.dryRun === true ? ' (dry-run)' : ''} ${resource}`;
}

function scopeText(ref: ObjectRef | undefined): string {
  if (ref === undefined) {
    return '';
  }
  return ref.namespace === undefined ? ' (cluster-scoped)' : ` in namespace ${ref.namespace}`;
}

/** One refused request: verb, resource, namespace and the identity it was refused to. */
export function forbiddenLine(
  error: { request?: KubeRequestInfo },
  ref: ObjectRef | undefined,
  as: ActingAs,
): string {
  return `${as.identity} may not ${requestText(error.request, ref)}${scopeText(ref)}`;
}

export function forbiddenHint(as: ActingAs): string {
  return (
    `check the tenant's grant on cluster ${as.cluster}: the service account it is ` +
    'impersonated as needs RBAC for this (a Role and RoleBinding in the namespace, ' +
    'a ClusterRole and ClusterRoleBinding for cluster-scoped kinds)'
  );
}

function kindText(ref: ObjectRef): string {
  const gv = ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
  return `kind ${ref.kind} of ${gv} is not served by the cluster`;
}

export const MISSING_CRD_HINT =
  'install its CustomResourceDefinition first, or add dependsOn on the release that installs it';

/** The words for one object's failure, in the terms of the run's reason. */
export function lineOf(error: ObjectError, as: ActingAs): FailureLine {
  if (error.code === 'Forbidden') {
    return { ref: error.ref, text: `forbidden: ${forbiddenLine(error, error.ref, as)}` };
  }
  if (isMissingKind(error)) {
    return { ref: error.ref, text: kindText(error.ref) };
  }
  return { ref: error.ref, text: error.message };
}

/** The hint a reason's message ends with, if it has one. */
export function hintOf(reason: Reason | undefined, as: ActingAs): string | undefined {
  if (reason === Reason.Forbidden) {
    return forbiddenHint(as);
  }
  return reason === Reason.MissingCustomResourceDefinition ? MISSING_CRD_HINT : undefined;
}

/**
 * "3 of 40 objects failed: Deployment.apps/apps/a: …; Service/apps/b: …; and 1 more",
 * then the hint, within `max` characters: whole entries are left out (and counted)
 * rather than cut, and a single entry too long for the rest is cut at a word.
 */
export function summarizeFailures(
  lines: readonly FailureLine[],
  total: number,
  options: { hint?: string; max?: number } = {},
): string {
  const max = options.max ?? MAX_CONDITION_MESSAGE;
  const head =
    total > 1 || lines.length > 1
      ? `${lines.length} of ${Math.max(total, lines.length)} objects failed: `
      : '';
  const tail = options.hint === undefined ? '' : `; ${options.hint}`;
  const entries = lines.map((l) => `${refString(l.ref)}: ${l.text}`);
  const parts: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const left = entries.length - i - 1;
    const more = left > 0 ? `; and ${left} more` : '';
    const candidate = [...parts, entries[i]].join('; ');
    if (head.length + candidate.length + more.length + tail.length <= max) {
      parts.push(entries[i]);
      continue;
    }
    if (parts.length === 0) {
      // Not even the first fits: shorten it, keeping room for the count and the hint.
      const room = max - head.length - more.length - tail.length - 1;
      parts.push(truncateMessage(entries[i], Math.max(room, 0)));
      return `${head}${parts.join('; ')}${more}${tail}`;
    }
    return `${head}${parts.join('; ')}; and ${entries.length - parts.length} more${tail}`;
  }
  return `${head}${parts.join('; ')}${tail}`;
}

/** A run's end for an object set's failures: reason, and the summarized message. */
export function objectFailure(
  errors: readonly ObjectError[],
  total: number,
  as: ActingAs,
  fallback: Reason,
): { reason: Reason; message: string } {
  const reason = reasonOfObjectErrors(errors) ?? fallback;
  // Lines that match the reason first: the message leads with the real cause.
  const relevant = (e: ObjectError): boolean =>
    reason === Reason.Forbidden
      ? e.code === 'Forbidden'
      : reason === Reason.MissingCustomResourceDefinition
        ? isMissingKind(e)
        : true;
  const ordered = [...errors.filter(relevant), ...errors.filter((e) => !relevant(e))];
  return {
    reason,
    message: summarizeFailures(
      ordered.map((e) => lineOf(e, as)),
      total,
      { hint: hintOf(reason, as) },
    ),
  };
}

/** A refusal thrown outside a per-object step (a live read): Forbidden or a missing kind, else undefined. */
export function kubeErrorFailure(
  error: unknown,
  as: ActingAs,
): { reason: Reason; message: string } | undefined {
  if (!isKubeError(error)) {
    return undefined;
  }
  const e: KubeError = error;
  if (e.code === 'Forbidden') {
    return {
      reason: Reason.Forbidden,
      message: `forbidden: ${forbiddenLine(e, undefined, as)}; ${forbiddenHint(as)}`,
    };
  }
  if (isMissingKind(e)) {
    return {
      reason: Reason.MissingCustomResourceDefinition,
      message: `${e.message}; ${MISSING_CRD_HINT}`,
    };
  }
  return undefined;
}
