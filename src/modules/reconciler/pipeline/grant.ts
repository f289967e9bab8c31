import type { ServiceAccountRef } from 'src/modules/reconciler/kube/applier.service';
import { Reason } from 'src/modules/reconciler/conditions';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { Release } from 'src/modules/releases/releases.types';
import type { Grant } from 'src/tenants/grants/grant.types';
import { failed, passed, type StepOutcome } from './run-end';

/** The tenant's grant on the cluster, or a stalled run saying it is missing. */
export function grantOf({ grant }: ReconcileContext): StepOutcome<Grant> {
  if (grant === undefined) {
    return failed({
      result: 'Failed',
      reason: Reason.GrantMissing,
      message: 'the tenant holds no grant on this cluster',
      ready: 'False',
      stalled: true,
      retry: 'interval',
    });
  }
  return passed(grant);
}

/** Who the tenant's objects are applied as: the grant's service account, in its first namespace. */
export function serviceAccountOf(grant: Grant, release: Release): ServiceAccountRef {
  return {
    namespace: grant.namespaces[0] ?? release.targetNamespace,
    name: grant.serviceAccountName,
  };
}

/** The ownership label values of a release's objects. */
export function ownerOf(ctx: ReconcileContext): { tenant: string; release: string } {
  return { tenant: ctx.tenantName, release: ctx.release.name };
}
