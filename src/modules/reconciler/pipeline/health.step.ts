import { Injectable, Logger } from '@nestjs/common';
import { truncateMessage } from 'src/common/conditions/conditions';
import { Reason } from 'src/modules/reconciler/conditions';
import {
  HealthChecker,
  healthFailureMessage,
} from 'src/modules/reconciler/kube/health-checker.service';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import type { KubeObject, ObjectHealth, ObjectRef } from 'src/modules/reconciler/kube/kube.types';
import { refKey, refString } from 'src/modules/reconciler/kube/kube-objects';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { Release } from 'src/modules/releases/releases.types';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import type { Grant } from 'src/tenants/grants/grant.types';
import type { Applied } from './apply.step';
import { serviceAccountOf } from './grant';
import { LeaseKeeper } from './lease-keeper';
import { serviceAccountUser } from 'src/modules/reconciler/kube/applier.service';
import { kubeErrorFailure } from './failure-messages';
import { failed, messageOf, passed, type StepOutcome } from './run-end';

/** At most this many objects are named in the progress message. */
const PROGRESS_NAMED = 10;

/**
 * A wait shorter than this shows no Progressing status: the run's end lands a moment
 * later in the same row, and the write it saves is one per target per applied revision.
 */
export const PROGRESS_AFTER_MS = 2_000;

/**
 * Health of what a run applied, by Flux's Kustomization rule: with `wait` every
 * applied object is checked and `healthChecks` is ignored; without it only the
 * `healthChecks` are; with neither nothing is. `healthCheckExprs` replace kstatus
 * for the group/kinds they name.
 */
@Injectable()
export class HealthStep {
  private readonly logger = new Logger(HealthStep.name);

  constructor(
    private readonly health: HealthChecker,
    private readonly leases: LeaseKeeper,
  ) {}

  /** Raises the inventory's resourceVersions to those seen healthy (in place). */
  async run(
    claim: ClaimedTarget,
    ctx: ReconcileContext,
    api: KubeApi,
    grant: Grant,
    applied: Applied,
    revision?: string,
  ): Promise<StepOutcome<void>> {
    const { release } = ctx;
    const refs: (KubeObject | ObjectRef)[] = release.wait
      ? applied.objects.map((o) => o.live ?? o.ref)
      : extraChecks(release);
    if (refs.length === 0) {
      return passed(undefined);
    }
    const timeout = `${release.timeoutSeconds}s`;
    const healthy = await this.leases.renewWhile(claim, () =>
      this.health.waitForHealthy(api, refs, {
        timeoutMs: release.timeoutSeconds * 1000,
        serviceAccount: serviceAccountOf(grant, release),
        initial: applied.objects.flatMap((o) => (o.live === undefined ? [] : [o.live])),
        exprs: release.healthCheckExprs,
        progressAfterMs: PROGRESS_AFTER_MS,
        onPending: async (pending) => {
          try {
            await this.leases.showProgress(claim, progressMessage(revision, timeout, pending));
          } catch (e) {
            // Only the display of the wait is lost; the run's end is written as usual.
            this.logger.warn({
              msg: 'could not show health wait progress',
              targetId: claim.id,
              error: messageOf(e),
            });
          }
        },
      }),
    );
    // Controllers write status after our apply; remembering the versions seen
    // healthy keeps the next interval's unchanged check free of dry-runs.
    for (const entry of applied.inventory) {
      const seen = healthy.resourceVersions[refKey(entry)];
      if (seen !== undefined) {
        entry.resourceVersion = seen;
      }
    }
    if (healthy.healthy) {
      return passed(undefined);
    }
    const refused = kubeErrorFailure(healthy.readError, {
      identity: serviceAccountUser(serviceAccountOf(grant, release)),
      cluster: ctx.cluster.name,
    });
    if (refused !== undefined) {
      return failed({ result: 'Failed', ...refused, ready: 'False', retry: 'backoff' });
    }
    const failedOnes = healthy.failing.filter((f) => f.status === 'Failed');
    const notObserved =
      failedOnes.length > 0 && failedOnes.every((f) => f.reason === 'NotObserved');
    return failed({
      result: 'Failed',
      reason: notObserved ? Reason.NotObserved : Reason.HealthCheckFailed,
      message: healthFailureMessage(healthy),
      ready: 'False',
      retry: 'backoff',
    });
  }
}

function progressMessage(
  revision: string | undefined,
  timeout: string,
  pending: readonly ObjectHealth[],
): string {
  const named = pending
    .slice(0, PROGRESS_NAMED)
    .map((p) => `${refString(p.ref)} (${p.status}: ${p.message})`)
    .join('; ');
  const more =
    pending.length > PROGRESS_NAMED ? ` and ${pending.length - PROGRESS_NAMED} more` : '';
  const of = revision === undefined ? '' : ` for revision ${revision}`;
  return truncateMessage(
    `Running health checks${of} with a timeout of ${timeout}; waiting for: ${named}${more}`,
  );
}

function extraChecks(release: Release): ObjectRef[] {
  return release.healthChecks.map((h) => {
    const [group, version] = h.apiVersion.includes('/')
      ? h.apiVersion.split('/')
      : ['', h.apiVersion];
    return {
      group: group ?? '',
      version: version ?? 'v1',
      kind: h.kind,
      namespace: h.namespace,
      name: h.name,
    };
  });
}
