import { Injectable } from '@nestjs/common';
import type { Release } from 'src/modules/releases/releases.types';
import type { Target } from 'src/modules/releases/releases.types';
import { ClusterApiPool } from './cluster-api.pool';
import { secretRedactorFor, serviceAccountUser } from './kube/applier.service';
import { ApplyStep, type PlannedChange } from './pipeline/apply.step';
import { ConvergePipeline } from './pipeline/converge.pipeline';
import { kubeErrorFailure } from './pipeline/failure-messages';
import { serviceAccountOf } from './pipeline/grant';
import { PruneStep } from './pipeline/prune.step';
import { messageOf, type StepOutcome } from './pipeline/run-end';
import { ReconcileContextLoader, type ReconcileContext } from './reconcile-context.loader';

export type { PlannedChange } from './pipeline/apply.step';

export interface TargetPlan {
  cluster: string;
  revision: string;
  changes: PlannedChange[];
}

/**
 * What a reconcile of a target would change, without changing anything: the
 * reconcile's own desired state (artifact, render, admit), then the apply
 * step's dry-run and the prune step's plan.
 */
@Injectable()
export class TargetPlanner {
  constructor(
    private readonly contexts: ReconcileContextLoader,
    private readonly pipeline: ConvergePipeline,
    private readonly pool: ClusterApiPool,
    private readonly applier: ApplyStep,
    private readonly pruner: PruneStep,
  ) {}

  async plan(
    tenantId: string,
    release: Release,
    target: Target,
    batch?: ReadonlyMap<string, ReconcileContext>,
  ): Promise<TargetPlan> {
    const claim = {
      id: target.id,
      tenantId,
      releaseId: release.id,
      clusterId: target.clusterId,
      fencingToken: '0',
    };
    const loaded = (batch ?? (await this.contexts.load([claim]))).get(claim.id);
    if (loaded === undefined) {
      throw new Error(`target ${target.id} was deleted`);
    }
    // The plan is of the release and target as the caller sees them.
    const ctx: ReconcileContext = { ...loaded, release, target };
    const { grant, revision, objects } = valueOf(await this.pipeline.desired(ctx));
    const { cluster } = ctx;
    const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
    const impersonate = serviceAccountUser(serviceAccountOf(grant, release));
    try {
      const changes = await this.applier.dryRun(api, objects, impersonate);
      return {
        cluster: cluster.name,
        revision,
        changes: [...changes, ...this.pruner.plan(ctx, objects)],
      };
    } catch (error) {
      // A refusal names its reason, verb and identity, as a reconcile would.
      const refused = kubeErrorFailure(error, { identity: impersonate, cluster: cluster.name });
      const message = refused === undefined ? messageOf(error) : refused.message;
      // The API may quote what it was sent: never Secret values.
      throw new Error(secretRedactorFor(objects).redact(message));
    }
  }
}

/** A plan reports a failed step's plain cause. */
function valueOf<T>(outcome: StepOutcome<T>): T {
  if (!outcome.ok) {
    throw new Error(outcome.cause);
  }
  return outcome.value;
}
