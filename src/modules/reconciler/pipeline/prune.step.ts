import { Injectable } from '@nestjs/common';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { Reason } from 'src/modules/reconciler/conditions';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { refKey, refOf, refString } from 'src/modules/reconciler/kube/kube-objects';
import type {
  InventoryEntry,
  ObjectError,
  PruneResult,
} from 'src/modules/reconciler/kube/kube.types';
import { Pruner } from 'src/modules/reconciler/kube/pruner.service';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import { SharedObjectsPruned } from 'src/modules/reconciler/reconciler.events';
import { EventsService } from 'src/modules/events/events.service';
import type { NewEvent } from 'src/modules/events/events.types';
import type { KubeObject as RenderedObject } from 'src/modules/rendering/rendering.types';
import { TargetsService } from 'src/modules/releases/targets.service';
import type { Grant } from 'src/tenants/grants/grant.types';
import type { Applied, PlannedChange } from './apply.step';
import { ownerOf, serviceAccountOf } from './grant';
import { serviceAccountUser } from 'src/modules/reconciler/kube/applier.service';
import { objectFailure } from './failure-messages';
import { failed, passed, type StepOutcome } from './run-end';
import { ClusterPeers, SharedObjectGuard } from './shared-objects';

/** Skips worth telling the tenant about: the object stays although it left the set. */
const KEPT_REASONS = new Set([
  'NotOwned',
  'PruneDisabled',
  'HandedOver',
  'CustomResourceDefinitionKept',
  'CustomResourcesRemain',
  'NamespaceInUse',
]);

/**
 * Deletes what left the inventory (and carries our ownership label), keeping what
 * is shared: objects another release on the cluster holds or renders, CRDs unless
 * the release opts in and nothing else uses them, Namespaces holding what is not
 * ours. Every delete and every keep is an event on the target; targets whose
 * objects went with a delete are woken.
 */
@Injectable()
export class PruneStep {
  constructor(
    private readonly pruner: Pruner,
    private readonly targets: TargetsService,
    private readonly events: EventsService,
    private readonly bus: DomainEventBus,
  ) {}

  /** Prunes what the apply no longer holds; the counts come back with `pruned` set. */
  async run(
    ctx: ReconcileContext,
    api: KubeApi,
    grant: Grant,
    applied: Applied,
  ): Promise<StepOutcome<Applied['counts']>> {
    const { target, release } = ctx;
    if (!release.prune) {
      return passed(applied.counts);
    }
    const pruned = await this.pruneShared(ctx, api, grant, target.inventory, applied.inventory);
    const counts = { ...applied.counts, pruned: pruned.deleted.length };
    if (pruned.errors.length === 0) {
      return passed(counts);
    }
    const keep = new Set(applied.inventory.map(refKey));
    const leaving = target.inventory.filter((e) => !keep.has(refKey(e))).length;
    const as = {
      identity: serviceAccountUser(serviceAccountOf(grant, release)),
      cluster: ctx.cluster.name,
    };
    const { reason, message } = objectFailure(pruned.errors, leaving, as, Reason.PruneFailed);
    return failed({
      result: 'Failed',
      reason,
      message,
      ready: 'False',
      // What was applied is in the cluster; keep the objects that could not be pruned tracked.
      inventory: [...applied.inventory, ...pruned.errors.map((e) => ({ ...e.ref }))],
      counts,
      retry: 'backoff',
    });
  }

  /** Before a target's row goes: every object of its inventory. Throws what failed. */
  async removeAll(ctx: ReconcileContext, api: KubeApi): Promise<void> {
    const result = await this.pruneShared(ctx, api, ctx.grant, ctx.target.inventory, []);
    if (result.errors.length > 0) {
      throw new Error(listOf(result.errors));
    }
  }

  /** What a reconcile would prune: inventory entries the desired objects no longer hold. */
  plan(ctx: ReconcileContext, objects: readonly RenderedObject[]): PlannedChange[] {
    if (!ctx.release.prune) {
      return [];
    }
    const desiredKeys = new Set(objects.map((o) => refKey(refOf(o))));
    return prunable(ctx.target.inventory)
      .filter((entry) => !desiredKeys.has(refKey(entry)))
      .map((entry) => ({ object: refString(entry), action: 'prune', fields: [] }));
  }

  private async pruneShared(
    ctx: ReconcileContext,
    api: KubeApi,
    grant: Grant | undefined,
    previous: readonly InventoryEntry[],
    current: readonly InventoryEntry[],
  ): Promise<PruneResult> {
    const { target, release, cluster } = ctx;
    const keep = new Set(current.map(refKey));
    if (previous.every((e) => keep.has(refKey(e)))) {
      return { deleted: [], skipped: [], errors: [] };
    }
    // Only a run that has something to delete reads the cluster's other targets: one query.
    const peers = new ClusterPeers(
      await this.targets.peersOnCluster(cluster.id, target.id),
      ctx.tenantName,
    );
    const owner = ownerOf(ctx);
    const guard = new SharedObjectGuard(
      api,
      owner,
      peers,
      release.pruneCustomResourceDefinitions,
      new Set(grant?.namespaces ?? []),
    );
    const result = await this.pruner.prune(api, previous, current, {
      owner,
      serviceAccount: grant === undefined ? undefined : serviceAccountOf(grant, release),
      guard: (ref, live) => guard.keep(ref, live),
    });
    await this.events.record(this.eventsOf(ctx, result));
    const handedOver = result.skipped.filter((s) => s.reason === 'HandedOver').map((s) => s.ref);
    const disturbed = peers.disturbedBy(result.deleted, guard.releasedKinds, handedOver);
    if (disturbed.length > 0) {
      this.bus.publish(
        new SharedObjectsPruned(
          cluster.id,
          disturbed.map((p) => ({ tenantId: p.tenantId, id: p.targetId })),
        ),
      );
    }
    return result;
  }

  private eventsOf(ctx: ReconcileContext, result: PruneResult): NewEvent[] {
    const base = {
      tenantId: ctx.target.tenantId,
      objectKind: 'Target',
      objectName: `${ctx.release.name}/${ctx.cluster.name}`,
      revision: ctx.target.appliedRevision,
      severity: 'info' as const,
    };
    const events: NewEvent[] = result.deleted.map((ref) => ({
      ...base,
      reason: 'ObjectPruned',
      message: `deleted ${refString(ref)}: it left the release`,
      metadata: { object: refString(ref) },
    }));
    for (const skip of result.skipped) {
      if (KEPT_REASONS.has(skip.reason)) {
        events.push({
          ...base,
          reason: 'PruneSkipped',
          message: skip.message,
          metadata: { object: refString(skip.ref), why: skip.reason },
        });
      }
    }
    return events;
  }
}

/**
 * A Namespace in a tenant's inventory is one of its grant's namespaces (nothing
 * else is admitted): it belongs to the grant and holds the tenant's other
 * objects, so leaving the release only stops managing it, never deletes it.
 */
function prunable<E extends { group: string; kind: string }>(inventory: readonly E[]): E[] {
  return inventory.filter((e) => !(e.group === '' && e.kind === 'Namespace'));
}

function listOf(errors: readonly ObjectError[]): string {
  return errors.map((e) => `${refString(e.ref)}: ${e.message}`).join('; ');
}
