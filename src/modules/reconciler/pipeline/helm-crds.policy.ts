import type { KubeApi } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import { refOf } from 'src/modules/reconciler/kube/kube-objects';
import {
  HELM_CRD_ANNOTATION,
  HELM_CRD_FROM_CRDS_DIR,
  type KubeObject as RenderedObject,
} from 'src/modules/rendering/rendering.types';
import type { InventoryEntry } from 'src/modules/releases/releases.types';

export interface HelmCrdSplit {
  /** What to apply: everything but the crds/ objects the policy leaves alone. */
  apply: RenderedObject[];
  /** crds/ objects left as they are in the cluster, still tracked (never pruned anyway). */
  kept: InventoryEntry[];
}

/**
 * A chart's crds/ objects follow Flux helm-controller's defaults, `install.crds: Create`
 * and `upgrade.crds: Skip`: on install (the target never applied) a missing one is
 * created and an existing one left alone; on upgrade none is created or updated. Helm
 * itself never upgrades crds/ either. Everything else passes through unchanged.
 */
export async function splitHelmCrds(
  api: KubeApi,
  objects: readonly RenderedObject[],
  options: { installed: boolean; impersonate?: string; signal?: AbortSignal },
): Promise<HelmCrdSplit> {
  const apply: RenderedObject[] = [];
  const kept: InventoryEntry[] = [];
  for (const object of objects) {
    if (object.metadata.annotations?.[HELM_CRD_ANNOTATION] !== HELM_CRD_FROM_CRDS_DIR) {
      apply.push(object);
      continue;
    }
    const ref = refOf(object);
    let live: unknown;
    try {
      live = await api.get(ref, { impersonate: options.impersonate, signal: options.signal });
    } catch (error) {
      if (!(error instanceof KubeError)) {
        throw error;
      }
      // Unreadable (forbidden, unreachable): let the apply meet and report the same cause.
      apply.push(object);
      continue;
    }
    if (live !== undefined) {
      kept.push({ ...ref });
    } else if (!options.installed) {
      apply.push(object);
    }
  }
  return { apply, kept };
}
