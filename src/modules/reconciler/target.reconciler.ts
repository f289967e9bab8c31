import { Injectable, Logger } from '@nestjs/common';
import { clusterHold } from 'src/clusters/capi/cluster-hold';
import { runWithLogContext } from 'src/common/logging/request-context';
import type { ClaimedTarget } from './target-queue.repository';
import { ClusterApiPool } from './cluster-api.pool';
import { Reason } from './conditions';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { ApplyStep } from './pipeline/apply.step';
import { ConvergePipeline, type Desired } from './pipeline/converge.pipeline';
import { PruneStep } from './pipeline/prune.step';
import { messageOf, type RunEnd } from './pipeline/run-end';
import { ReconcilerMetrics, type TargetLabels } from './reconciler.metrics';
import { ReconcileContextLoader, type ReconcileContext } from './reconcile-context.loader';
import { TargetStatusRecorder } from './target-status.recorder';

/**
 * Reconciles one target, Flux-shaped: load, check hold/deletion/suspend, run the
 * pipeline, and always record status at the end, under the target's lease.
 */
@Injectable()
export class TargetReconciler {
  private readonly logger = new Logger(TargetReconciler.name);

  constructor(
    private readonly contexts: ReconcileContextLoader,
    private readonly pipeline: ConvergePipeline,
    private readonly status: TargetStatusRecorder,
    private readonly pool: ClusterApiPool,
    private readonly pruner: PruneStep,
    private readonly metrics: ReconcilerMetrics,
    private readonly applier: ApplyStep,
  ) {}

  /**
   * Reconciles a claimed target. `batch` holds the contexts the worker loaded for its
   * whole claim; without it the context is loaded here. No context: the target,
   * release, cluster or tenant is gone; the lease is handed back.
   */
  async reconcile(
    claim: ClaimedTarget,
    batch?: ReadonlyMap<string, ReconcileContext>,
  ): Promise<void> {
    const reconcileId = `${claim.id}:${claim.fencingToken}`;
    await runWithLogContext({ reconcileId, targetId: claim.id }, async () => {
      const ctx = (batch ?? (await this.contexts.load([claim]))).get(claim.id);
      if (ctx === undefined) {
        await this.status.abandon(claim);
        return;
      }
      await this.run(claim, ctx);
    });
  }

  private async run(claim: ClaimedTarget, ctx: ReconcileContext): Promise<void> {
    const started = new Date();
    const { target, release, cluster, tenantName } = ctx;
    const labels = { tenant: tenantName, cluster: cluster.name, release: release.name };

    // A paused or departing Cluster API cluster is left alone: no apply, no prune.
    const held = clusterHold(cluster);
    if (held !== undefined) {
      await this.once(claim, ctx, started, { reason: Reason[held.reason], message: held.message });
      return;
    }
    if (target.removing || release.deletionRequestedAt !== null) {
      await this.remove(claim, ctx, labels);
      return;
    }
    if (release.suspended || target.suspended) {
      const message = release.suspended
        ? 'reconciliation is suspended (release)'
        : 'reconciliation is suspended (target)';
      await this.once(claim, ctx, started, { reason: Reason.Suspended, message }, 'Unknown');
      return;
    }

    const end = await this.pipeline.run(claim, ctx, started);
    const durationMs = Date.now() - started.getTime();
    this.metrics.observe(labels, end.result, durationMs / 1000, end.counts);
    if (await this.status.record(claim, ctx, started, durationMs, end, labels)) {
      this.metrics.setReady(labels, end.ready);
      this.logger.log({
        msg: 'target reconciled',
        ...labels,
        result: end.result,
        reason: end.reason,
        revision: end.revision,
        durationMs,
        ...(end.counts === undefined ? {} : { counts: end.counts }),
      });
    }
  }

  /**
   * Records why nothing is done (cluster held, reconciliation suspended) once;
   * afterwards only the next check is scheduled.
   */
  private async once(
    claim: ClaimedTarget,
    ctx: ReconcileContext,
    started: Date,
    why: { reason: RunEnd['reason']; message: string },
    ready: RunEnd['ready'] = 'False',
  ): Promise<void> {
    const { target, release } = ctx;
    const current = target.conditions.find((c) => c.type === 'Ready');
    if (current?.reason === why.reason && current.message === why.message) {
      await this.status.skip(claim, release);
      return;
    }
    const end: RunEnd = {
      result: 'Skipped',
      reason: why.reason,
      message: why.message,
      ready,
      revision: target.lastAttemptedRevision,
      retry: 'interval',
    };
    const labels = { tenant: ctx.tenantName, cluster: ctx.cluster.name, release: release.name };
    if (await this.status.record(claim, ctx, started, 0, end, labels)) {
      this.metrics.setReady(labels, end.ready);
    }
  }

  /** The cluster is no longer selected or the release is going: prune, then drop the row. */
  private async remove(
    claim: ClaimedTarget,
    ctx: ReconcileContext,
    labels: TargetLabels,
  ): Promise<void> {
    const { target, release, cluster } = ctx;
    if (release.prune && target.inventory.length > 0) {
      try {
        const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
        const hooks = await this.deleteHooksOf(ctx);
        await this.runDeleteHooks(ctx, api, hooks, 'before');
        await this.pruner.removeAll(ctx, api);
        await this.runDeleteHooks(ctx, api, hooks, 'after');
      } catch (error) {
        const message = `pruning before removal failed: ${messageOf(error)}`;
        this.logger.warn({ msg: message, cluster: cluster.name, release: release.name });
        await this.status.removalFailed(claim, ctx, message);
        return;
      }
    }
    if (await this.status.removed(claim, release)) {
      // Series go with the target.
      this.metrics.removeTarget(labels);
    }
  }

  /**
   * The current render, for its delete hooks. A render that cannot be built (its source
   * is gone) skips them: removal must stay possible.
   */
  private async deleteHooksOf(ctx: ReconcileContext): Promise<Desired | undefined> {
    const desired = await this.pipeline.desired(ctx);
    if (!desired.ok) {
      this.logger.warn({
        msg: `delete hooks skipped, the release does not render: ${desired.cause}`,
        cluster: ctx.cluster.name,
        release: ctx.release.name,
      });
      return undefined;
    }
    return desired.value;
  }

  /**
   * Helm `pre-delete` / Argo CD `PreDelete` hooks before anything is deleted, and
   * `post-delete` / `PostDelete` after: a failed hook stops the removal, as it stops
   * `helm uninstall`, and the next attempt runs the hooks again, as Helm's does.
   */
  private async runDeleteHooks(
    ctx: ReconcileContext,
    api: KubeApi,
    desired: Desired | undefined,
    when: 'before' | 'after',
  ): Promise<void> {
    if (desired === undefined) {
      return;
    }
    const failed = await this.applier.runDeleteHooks(
      ctx,
      api,
      desired.grant,
      desired.objects,
      when,
    );
    if (failed !== undefined) {
      throw new Error(failed);
    }
  }
}
