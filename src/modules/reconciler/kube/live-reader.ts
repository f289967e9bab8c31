import { Injectable } from '@nestjs/common';
import { mapLimit } from 'src/common/async/map-limit';
import { isKubeError } from 'src/common/kube/kube.errors';
import { apiVersionOf, refKey } from './kube-objects';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import type { KubeObject, ObjectRef } from './kube.types';

/** Live objects by `refKey`; `null` = not found (or not carrying the selector's labels). */
export type LiveState = Map<string, KubeObject | null>;

export interface ReadLiveOptions {
  /** Label selector for LISTs, e.g. the ownership labels. Objects not matching read as absent. */
  labelSelector?: string;
  impersonate?: string;
  /** Requests in flight. Default 8. */
  concurrency?: number;
  /** A group of at least this many objects of one kind in one namespace is LISTed, else GET. Default 2. */
  listThreshold?: number;
}

/**
 * Reads many live objects with the fewest requests: one LIST per (kind, namespace) holding
 * several of them (label-selected), one GET for a lone object. The engine may call it once
 * per cluster for every Target there and pass the result to each apply (`live`).
 */
@Injectable()
export class LiveReader {
  async read(
    api: KubeApi,
    refs: readonly ObjectRef[],
    opts: ReadLiveOptions = {},
  ): Promise<LiveState> {
    const groups = new Map<string, ObjectRef[]>();
    for (const ref of refs) {
      const k = `${apiVersionOf(ref)}|${ref.kind}|${ref.namespace ?? ''}`;
      const g = groups.get(k);
      if (g) {
        g.push(ref);
      } else {
        groups.set(k, [ref]);
      }
    }
    const out: LiveState = new Map();
    const threshold = opts.listThreshold ?? 2;
    const requestOpts = { impersonate: opts.impersonate };
    const getEach = async (group: readonly ObjectRef[]): Promise<void> => {
      for (const ref of group) {
        out.set(refKey(ref), await this.getOrNull(api, ref, opts.impersonate));
      }
    };
    await mapLimit([...groups.values()], opts.concurrency ?? 8, async (group) => {
      if (group.length < threshold) {
        await getEach(group);
        return;
      }
      const first = group[0];
      let items: KubeObject[];
      try {
        items = await api.list(apiVersionOf(first), first.kind, first.namespace, {
          ...requestOpts,
          labelSelector: opts.labelSelector,
        });
      } catch (e) {
        if (isKubeError(e, 'UnknownKind')) {
          group.forEach((r) => out.set(refKey(r), null));
          return;
        }
        // A service account allowed get but not list: fall back to GETs.
        if (isKubeError(e, 'Forbidden')) {
          await getEach(group);
          return;
        }
        throw e;
      }
      const byName = new Map(items.map((o) => [o.metadata.name ?? '', o]));
      for (const ref of group) {
        out.set(refKey(ref), byName.get(ref.name) ?? null);
      }
    });
    return out;
  }

  private async getOrNull(
    api: KubeApi,
    ref: ObjectRef,
    impersonate?: string,
  ): Promise<KubeObject | null> {
    try {
      return (await api.get(ref, { impersonate })) ?? null;
    } catch (e) {
      if (isKubeError(e, 'UnknownKind')) {
        return null;
      }
      throw e;
    }
  }
}
