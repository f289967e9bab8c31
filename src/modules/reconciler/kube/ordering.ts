import { isCrd, isNamespace } from './kube-objects';
import type { ObjectRef } from './kube.types';

/** 0: CRDs, 1: Namespaces (stage one); 2: everything else. */
export function applyRank(ref: { group: string; kind: string }): number {
  if (isCrd(ref)) {
    return 0;
  }
  if (isNamespace(ref)) {
    return 1;
  }
  return 2;
}

export function isFirstStage(ref: { group: string; kind: string }): boolean {
  return applyRank(ref) < 2;
}

/** Apply order: CRDs, Namespaces, then the rest in the given (renderer's) order. Stable. */
export function sortForApply<T>(items: readonly T[], refOf: (t: T) => ObjectRef): T[] {
  return items
    .map((item, i) => ({ item, i, rank: applyRank(refOf(item)) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.item);
}

/**
 * Prune order, the reverse of apply: namespaced objects, then other cluster-scoped
 * objects, then Namespaces, then CRDs (so custom resources go before their definition).
 */
export function sortForPrune<T>(items: readonly T[], refOf: (t: T) => ObjectRef): T[] {
  return items
    .map((item, i) => ({ item, i, rank: pruneRank(refOf(item)) }))
    .sort((a, b) => a.rank - b.rank || b.i - a.i)
    .map((x) => x.item);
}

/** 0: namespaced, 1: other cluster-scoped, 2: Namespaces, 3: CRDs. */
export function pruneRank(r: ObjectRef): number {
  if (isCrd(r)) {
    return 3;
  }
  if (isNamespace(r)) {
    return 2;
  }
  return r.namespace !== undefined && r.namespace !== '' ? 0 : 1;
}
