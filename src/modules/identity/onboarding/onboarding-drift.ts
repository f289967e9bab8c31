import { canonicalJson } from 'src/modules/reconciler/kube/kube-objects';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether every field `desired` sets is present and equal in `live`: maps are
 * compared key by key (live may hold more: server defaults, other managers),
 * lists as a whole (SSA replaces atomic lists, so any difference is drift).
 * An absent map or list reads as empty, since the API server omits empty ones;
 * an undefined desired value sets nothing.
 */
export function containedIn(desired: unknown, live: unknown): boolean {
  if (desired === undefined) {
    return true;
  }
  if (isMap(desired)) {
    const have = live ?? {};
    return isMap(have) && Object.entries(desired).every(([k, v]) => containedIn(v, have[k]));
  }
  if (Array.isArray(desired)) {
    const have = live ?? [];
    return Array.isArray(have) && canonicalJson(desired) === canonicalJson(have);
  }
  return desired === live;
}

/** Top-level fields besides identity and metadata: `roleRef`, `subjects`, `rules`… */
const payloadOf = (obj: KubeObject): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(obj).filter(([k]) => k !== 'apiVersion' && k !== 'kind' && k !== 'metadata'),
  );

/**
 * Whether `live` already holds what applying `desired` would set, so the apply
 * (a write even when SSA finds nothing to change) can be skipped. Of the
 * metadata only labels and annotations are ours; the caller matches identity.
 */
export function inSync(desired: KubeObject, live: KubeObject | undefined): boolean {
  return (
    live !== undefined &&
    containedIn(desired.metadata.labels, live.metadata.labels) &&
    containedIn(desired.metadata.annotations, live.metadata.annotations) &&
    containedIn(payloadOf(desired), payloadOf(live))
  );
}
