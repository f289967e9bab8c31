import { Injectable, Logger } from '@nestjs/common';
import { ClusterApiPool } from 'src/modules/reconciler/cluster-api.pool';
import { Reason } from 'src/modules/reconciler/conditions';
import { KubeError } from 'src/common/kube/kube.errors';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { KubeObject as RenderedObject } from 'src/modules/rendering/rendering.types';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import type { Grant } from 'src/tenants/grants/grant.types';
import { AdmitStep } from './admit.step';
import { ApplyStep } from './apply.step';
import { ArtifactStep } from './artifact.step';
import { DependenciesStep } from './dependencies.step';
import { serviceAccountUser } from 'src/modules/reconciler/kube/applier.service';
import { kubeErrorFailure } from './failure-messages';
import { grantOf, serviceAccountOf } from './grant';
import { HealthStep } from './health.step';
import { LeaseKeeper } from './lease-keeper';
import { PruneStep } from './prune.step';
import { RenderStep } from './render.step';
import { messageOf, passed, type RunEnd, type StepFailure, type StepOutcome } from './run-end';

/** What the steps before the cluster produced: the objects to apply at a revision. */
export interface Desired {
  grant: Grant;
  revision: string;
  digest: string;
  objects: RenderedObject[];
}

/**
 * The work of a reconcile: artifact → render → admit → apply → prune → health,
 * each step answering its outcome; the first failure ends the run.
 */
@Injectable()
export class ConvergePipeline {
  private readonly logger = new Logger(ConvergePipeline.name);

  constructor(
    private readonly dependencies: DependenciesStep,
    private readonly artifacts: ArtifactStep,
    private readonly renderer: RenderStep,
    private readonly admission: AdmitStep,
    private readonly pool: ClusterApiPool,
    private readonly applier: ApplyStep,
    private readonly pruner: PruneStep,
    private readonly health: HealthStep,
    private readonly leases: LeaseKeeper,
  ) {}

  /** Never throws: an unexpected error becomes a failed end too. */
  async run(claim: ClaimedTarget, ctx: ReconcileContext, started: Date): Promise<RunEnd> {
    const endOf = (failure: StepFailure): RunEnd => ({
      revision: ctx.target.lastAttemptedRevision,
      ...failure,
    });
    try {
      const desired = await this.desired(ctx, { claim });
      return desired.ok
        ? await this.deploy(claim, ctx, started, desired.value)
        : endOf(desired.end);
    } catch (error) {
      return endOf(this.unexpected(error, ctx));
    }
  }

  /**
   * Everything before the cluster is touched (grant → dependencies → artifact →
   * render → admit); a failure here changes nothing there. The planner asks the
   * same without a claim: dependencies are not checked and an empty render is
   * shown rather than refused.
   */
  async desired(
    ctx: ReconcileContext,
    options: { claim?: ClaimedTarget } = {},
  ): Promise<StepOutcome<Desired>> {
    const { claim } = options;
    const grant = grantOf(ctx);
    if (!grant.ok) {
      return grant;
    }
    if (claim !== undefined) {
      const dependencies = await this.dependencies.run(claim, ctx.release);
      if (!dependencies.ok) {
        return dependencies;
      }
    }
    const artifact = await this.artifacts.run(ctx);
    if (!artifact.ok) {
      return artifact;
    }
    const rendered = await this.renderer.run(ctx, artifact.value);
    if (!rendered.ok) {
      return rendered;
    }
    const { revision } = artifact.value;
    const admitted = this.admission.run(ctx, grant.value, rendered.value, revision, {
      refuseEmpty: claim !== undefined,
    });
    if (!admitted.ok) {
      return admitted;
    }
    return passed({
      grant: grant.value,
      revision,
      digest: rendered.value.digest,
      objects: admitted.value,
    });
  }

  private async deploy(
    claim: ClaimedTarget,
    ctx: ReconcileContext,
    started: Date,
    { grant, revision, digest, objects }: Desired,
  ): Promise<RunEnd> {
    const { cluster } = ctx;
    const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
    const applied = await this.applier.run(ctx, api, grant, objects, revision, { digest, claim });
    if (!applied.ok) {
      return { revision, ...applied.end };
    }
    await this.leases.keepIfOld(claim, started);
    const inCluster = {
      revision,
      inventory: applied.value.inventory,
      appliedRevision: revision,
      appliedDigest: digest,
      counts: applied.value.counts,
      drift: applied.value.drift,
    };
    const pruned = await this.pruner.run(ctx, api, grant, applied.value);
    if (!pruned.ok) {
      return { ...inCluster, ...pruned.end };
    }
    inCluster.counts = pruned.value;
    const healthy = await this.health.run(claim, ctx, api, grant, applied.value, revision);
    if (!healthy.ok) {
      return { ...inCluster, ...healthy.end };
    }
    return {
      ...inCluster,
      result: 'Succeeded',
      reason: Reason.ReconciliationSucceeded,
      message:
        applied.value.testFailure === undefined
          ? `Applied revision: ${revision}`
          : `Applied revision: ${revision}; Helm tests failed, ignored (test.ignoreFailures): ${applied.value.testFailure}`,
      ready: 'True',
      retry: 'interval',
    };
  }

  private unexpected(error: unknown, ctx: ReconcileContext): StepFailure {
    // A 403 or an unknown kind from a read outside the per-object steps names its cause too.
    const refused =
      ctx.grant === undefined
        ? undefined
        : kubeErrorFailure(error, {
            identity: serviceAccountUser(serviceAccountOf(ctx.grant, ctx.release)),
            cluster: ctx.cluster.name,
          });
    if (refused !== undefined) {
      return { result: 'Failed', ...refused, ready: 'False', retry: 'backoff' };
    }
    const unreachable = error instanceof KubeError;
    if (!unreachable) {
      this.logger.error(error instanceof Error ? error : String(error));
    }
    return {
      result: 'Failed',
      reason: unreachable ? Reason.ClusterUnreachable : Reason.ApplyFailed,
      message: messageOf(error),
      ready: 'False',
      retry: 'backoff',
    };
  }
}
