import { Injectable } from '@nestjs/common';
import { mapLimit } from 'src/common/async/map-limit';
import { isKubeError, KubeError } from 'src/common/kube/kube.errors';
import { isOwnedBy, pruneOptOut, refKey, refOf, refString } from './kube-objects';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { serviceAccountUser, type ServiceAccountRef } from './applier.service';
import { pruneRank, sortForPrune } from './ordering';
import type {
  InventoryEntry,
  KubeObject,
  ObjectRef,
  Owner,
  PruneKeep,
  PruneResult,
} from './kube.types';

export interface PruneOptions {
  /** Only objects carrying exactly these ownership labels are deleted. */
  owner: Owner;
  serviceAccount?: ServiceAccountRef;
  /** Deletes in flight within one ordering rank. Default 8. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Asked for each object that is ours and not opted out, right before its delete:
   * an answer keeps it (shared CRDs and Namespaces, objects handed over).
   */
  guard?: (ref: ObjectRef, live: KubeObject) => Promise<PruneKeep | undefined>;
}

/**
 * Deletes what left the set: previous inventory − current objects, only when the live
 * object still carries our ownership labels and does not say `gitfleet.dev/prune: disabled`.
 * Reverse apply order; namespaced objects before Namespaces and CRDs. Never called after a
 * failed source or render (the caller's job); an empty current set is the caller's
 * `allowEmpty` decision.
 */
@Injectable()
export class Pruner {
  async prune(
    api: KubeApi,
    previous: readonly InventoryEntry[],
    current: readonly (KubeObject | ObjectRef)[],
    opts: PruneOptions,
  ): Promise<PruneResult> {
    const keep = new Set(current.map((c) => refKey(isObject(c) ? refOf(c) : c)));
    const gone = sortForPrune(
      previous.filter((e) => !keep.has(refKey(e))),
      (e) => e,
    );
    const result: PruneResult = { deleted: [], skipped: [], errors: [] };
    const impersonate = opts.serviceAccount ? serviceAccountUser(opts.serviceAccount) : undefined;
    let stop = false;
    // Ranks run one after the other so Namespaces and CRDs go after what lives in them.
    for (const rank of groupByRank(gone)) {
      await mapLimit(
        rank,
        opts.concurrency ?? 8,
        async (entry) => {
          const ref = toRef(entry);
          try {
            await this.deleteIfOurs(api, ref, opts, impersonate, result);
          } catch (e) {
            if (isKubeError(e, 'UnknownKind')) {
              result.skipped.push({ ref, reason: 'KindNotServed', message: e.message });
              return;
            }
            if (!(e instanceof KubeError)) {
              throw e;
            }
            result.errors.push({
              ref,
              code: e.code,
              message: e.message,
              ...(e.request === undefined ? {} : { request: e.request }),
            });
            if (e.retryable && e.code !== 'Conflict') {
              stop = true;
            }
          }
        },
        () => stop || opts.signal?.aborted === true,
      );
      // A Namespace is not deleted while something in it failed to be pruned.
      if (result.errors.length > 0 || stop) {
        break;
      }
    }
    return result;
  }

  /** Deletes the object if it is still ours and prunable; records why it was left otherwise. */
  private async deleteIfOurs(
    api: KubeApi,
    ref: ObjectRef,
    opts: PruneOptions,
    impersonate: string | undefined,
    result: PruneResult,
  ): Promise<void> {
    const live = await api.get(ref, { impersonate, signal: opts.signal });
    if (!live) {
      result.skipped.push({ ref, reason: 'NotFound', message: 'already gone' });
      return;
    }
    if (!isOwnedBy(live, opts.owner)) {
      result.skipped.push({
        ref,
        reason: 'NotOwned',
        message: `${refString(ref)} does not carry this release's ownership labels`,
      });
      return;
    }
    const optOut = pruneOptOut(live);
    if (optOut !== undefined) {
      result.skipped.push({
        ref,
        reason: 'PruneDisabled',
        message: `${refString(ref)} is marked ${optOut}`,
      });
      return;
    }
    if (live.metadata.deletionTimestamp !== undefined) {
      result.skipped.push({ ref, reason: 'Terminating', message: 'already being deleted' });
      return;
    }
    const kept = opts.guard === undefined ? undefined : await opts.guard(ref, live);
    if (kept !== undefined) {
      result.skipped.push({ ref, ...kept });
      return;
    }
    // uid precondition: never delete an object recreated by someone else meanwhile.
    const deleted = await api.delete(ref, {
      impersonate,
      signal: opts.signal,
      propagationPolicy: 'Background',
      uid: live.metadata.uid,
    });
    if (deleted) {
      result.deleted.push(ref);
    } else {
      result.skipped.push({ ref, reason: 'NotFound', message: 'already gone' });
    }
  }
}

function isObject(v: KubeObject | ObjectRef): v is KubeObject {
  return (
    typeof (v as KubeObject).apiVersion === 'string' &&
    typeof (v as KubeObject).metadata === 'object'
  );
}

function toRef(e: InventoryEntry): ObjectRef {
  const ref: ObjectRef = { group: e.group, version: e.version, kind: e.kind, name: e.name };
  if (e.namespace !== undefined && e.namespace !== '') {
    ref.namespace = e.namespace;
  }
  return ref;
}

function groupByRank(entries: readonly InventoryEntry[]): InventoryEntry[][] {
  const out: InventoryEntry[][] = [[], [], [], []];
  for (const e of entries) {
    out[pruneRank(e)].push(e);
  }
  return out.filter((g) => g.length > 0);
}
