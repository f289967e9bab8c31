import { Injectable } from '@nestjs/common';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import {
  isOwnedBy,
  refKey,
  refOf,
  refString,
  TENANT_LABEL,
} from 'src/modules/reconciler/kube/kube-objects';
import type { KubeObject, ObjectRef, Owner } from 'src/modules/reconciler/kube/kube.types';
import type { WriteCandidate } from 'src/modules/reconciler/kube/applier.service';
import { LiveReader, type LiveState } from 'src/modules/reconciler/kube/live-reader';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { KubeObject as RenderedObject } from 'src/modules/rendering/rendering.types';
import { TargetsService } from 'src/modules/releases/targets.service';
import { ClusterPeers } from './shared-objects';

/** An object the release renders but may not take; `why` names the owner as the tenant may read it. */
export interface OwnershipConflict {
  ref: ObjectRef;
  why: string;
}

/**
 * Whether the release may take the objects it renders that are not in its
 * inventory yet. Another release gitfleet knows on the cluster owns an object when
 * the object is in that target's inventory or carries its ownership labels; one
 * whose target is departing (cluster no longer selected, release being deleted)
 * hands it over. `adopt` decides the rest: `IfUnowned` takes objects no staying
 * release owns (unlabelled ones, or labelled by a release gone from the cluster),
 * `Always` takes any, `Never` only creates.
 */
@Injectable()
export class OwnershipCheck {
  constructor(
    private readonly targets: TargetsService,
    private readonly liveReader: LiveReader,
  ) {}

  /**
   * Before anything is applied. Steady state (nothing new in the set) reads nothing;
   * else one query and one live read of the new objects.
   * `lost`: inventory objects the live snapshot no longer shows as ours (taken by
   * another release, or deleted), checked like new ones.
   */
  async conflicts(
    ctx: ReconcileContext,
    api: KubeApi,
    objects: readonly RenderedObject[],
    owner: Owner,
    lost: ReadonlySet<string> = new Set(),
  ): Promise<OwnershipConflict[]> {
    const fresh = freshOf(ctx, objects.map(refOf), lost);
    if (fresh.length === 0) {
      return [];
    }
    const peers = await this.peersOf(ctx);
    return this.judge(ctx, fresh, await this.readLive(ctx, api, fresh), peers, owner);
  }

  /**
   * The same check from inside an apply, once the dry-runs have said which new objects
   * exist: only those are read. A first apply of new objects (a cold start) then costs
   * one query and no Kubernetes request.
   */
  async conflictsBeforeWrite(
    ctx: ReconcileContext,
    api: KubeApi,
    candidates: readonly WriteCandidate[],
    owner: Owner,
    lost: ReadonlySet<string>,
  ): Promise<OwnershipConflict[]> {
    const exists = new Set(candidates.filter((c) => c.exists).map((c) => refKey(c.ref)));
    const fresh = freshOf(
      ctx,
      candidates.map((c) => c.ref),
      lost,
    );
    if (fresh.length === 0) {
      return [];
    }
    const peers = await this.peersOf(ctx);
    const existing = fresh.filter((ref) => exists.has(refKey(ref)));
    const live = existing.length === 0 ? new Map() : await this.readLive(ctx, api, existing);
    return this.judge(ctx, fresh, live, peers, owner);
  }

  private async peersOf(ctx: ReconcileContext): Promise<ClusterPeers> {
    return new ClusterPeers(
      await this.targets.peersOnCluster(ctx.cluster.id, ctx.target.id),
      ctx.tenantName,
    );
  }

  private readLive(
    ctx: ReconcileContext,
    api: KubeApi,
    refs: readonly ObjectRef[],
  ): Promise<LiveState> {
    // Read as gitfleet itself: the tenant's identity may not see who else owns an object,
    // and admission already keeps the set inside the tenant's granted namespaces.
    return this.liveReader.read(api, refs, {
      // `Never` refuses unlabelled objects too, so it must see every existing one.
      ...(ctx.release.adopt === 'Never' ? {} : { labelSelector: TENANT_LABEL }),
    });
  }

  private judge(
    ctx: ReconcileContext,
    fresh: readonly ObjectRef[],
    live: ReadonlyMap<string, KubeObject | null>,
    peers: ClusterPeers,
    owner: Owner,
  ): OwnershipConflict[] {
    const { release } = ctx;
    const conflicts: OwnershipConflict[] = [];
    for (const ref of fresh) {
      const obj = live.get(refKey(ref)) ?? undefined;
      if (obj !== undefined && isOwnedBy(obj, owner)) {
        continue;
      }
      const labelled = obj === undefined ? undefined : peers.labelOwner(obj);
      const holder =
        peers.activeHolder(ref) ??
        (labelled !== undefined && !labelled.departing ? labelled : undefined);
      if (holder !== undefined && release.adopt !== 'Always') {
        conflicts.push({ ref, why: `owned by ${peers.describe(holder)} on this cluster` });
      } else if (obj !== undefined && release.adopt === 'Never') {
        conflicts.push({
          ref,
          why: `exists already (${peers.describeOwnerOf(obj)}) and the release sets adopt: Never`,
        });
      }
    }
    return conflicts;
  }
}

/** Rendered objects not in the inventory yet, or in it but no longer ours in the cluster. */
function freshOf(
  ctx: ReconcileContext,
  refs: readonly ObjectRef[],
  lost: ReadonlySet<string>,
): ObjectRef[] {
  const held = new Set(ctx.target.inventory.map(refKey).filter((key) => !lost.has(key)));
  return refs.filter((ref) => !held.has(refKey(ref)));
}

/** Thrown from the apply's `beforeWrite` to refuse it: nothing was written. */
export class OwnershipRefused extends Error {
  constructor(readonly conflicts: readonly OwnershipConflict[]) {
    super(conflictMessage(conflicts));
  }
}

/** The condition message of a conflict: which objects, who holds them, what to do. */
export function conflictMessage(conflicts: readonly OwnershipConflict[]): string {
  const listed = conflicts
    .slice(0, 5)
    .map((c) => `${refString(c.ref)} ${c.why}`)
    .join('; ');
  const more = conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : '';
  return `${listed}${more}; left untouched: remove it from one of the releases, or set adopt: Always on the one that should own it`;
}
