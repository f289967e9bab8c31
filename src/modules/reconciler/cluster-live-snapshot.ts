import { Injectable } from '@nestjs/common';
import { isKubeError } from 'src/common/kube/kube.errors';
import { apiVersionOf, isOwnedBy, refKey, TENANT_LABEL } from './kube/kube-objects';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import type { InventoryEntry, KubeObject, ObjectRef, Owner } from './kube/kube.types';
import type { LiveState } from './kube/live-reader';

interface Entry {
  readonly expiresAt: number;
  /** Objects by name; undefined: the kind cannot be listed (reads fall back to the Applier). */
  readonly items: Promise<Map<string, KubeObject> | undefined>;
}

/**
 * How long one LIST answers for every Target of the same cluster, tenant and kind.
 * Parsing the LISTs was the largest CPU cost of a quiet fleet (100 objects per kind
 * and cluster, re-listed every few seconds); drift younger than this is corrected
 * one interval later, never missed.
 */
export const SNAPSHOT_TTL_MS = 15_000;

/**
 * One LIST per (cluster, tenant identity, kind, namespace) shared by all Targets
 * of that cluster for a few seconds, label-selected by the tenant, instead of
 * one LIST or GET per Target and kind. A Target's steady state then costs a
 * fraction of a request. A snapshot older than the Target's last apply only
 * makes its unchanged check fail (resourceVersion moved), which falls back to a
 * dry-run: never wrong, only slower.
 */
@Injectable()
export class ClusterLiveSnapshot {
  private readonly entries = new Map<string, Entry>();
  private sweptAt = 0;
  private readonly ttlMs = SNAPSHOT_TTL_MS;

  /**
   * Live state of the inventory objects that can be checked without a write:
   * undefined when some kind could not be listed (the Applier then reads itself).
   */
  async read(
    clusterKey: string,
    api: KubeApi,
    owner: Owner,
    impersonate: string | undefined,
    refs: readonly (ObjectRef | InventoryEntry)[],
  ): Promise<LiveState | undefined> {
    const now = Date.now();
    this.sweep(now);
    const groups = new Map<string, ObjectRef[]>();
    for (const ref of refs) {
      const k = `${apiVersionOf(ref)}|${ref.kind}|${ref.namespace ?? ''}`;
      const g = groups.get(k);
      if (g === undefined) {
        groups.set(k, [ref]);
      } else {
        g.push(ref);
      }
    }
    const live: LiveState = new Map();
    for (const [groupKey, group] of groups) {
      const key = `${clusterKey}|${impersonate ?? ''}|${owner.tenant}|${groupKey}`;
      let entry = this.entries.get(key);
      if (entry === undefined || entry.expiresAt <= now) {
        const first = group[0];
        if (first === undefined) {
          continue;
        }
        entry = { expiresAt: now + this.ttlMs, items: this.list(api, first, owner, impersonate) };
        this.entries.set(key, entry);
        // A failed LIST is not kept: the next Target tries again.
        entry.items.catch(() => this.entries.delete(key));
      }
      const items = await entry.items;
      if (items === undefined) {
        return undefined;
      }
      for (const ref of group) {
        const obj = items.get(ref.name);
        // Another release's object of the same name reads as absent, as with the Applier's own read.
        live.set(refKey(ref), obj !== undefined && isOwnedBy(obj, owner) ? obj : null);
      }
    }
    return live;
  }

  /** Forget a cluster's snapshots (its objects were just written by someone else). */
  invalidate(clusterKey: string): void {
    for (const key of this.entries.keys()) {
      if (key.startsWith(`${clusterKey}|`)) {
        this.entries.delete(key);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private async list(
    api: KubeApi,
    ref: ObjectRef,
    owner: Owner,
    impersonate: string | undefined,
  ): Promise<Map<string, KubeObject> | undefined> {
    try {
      const items = await api.list(apiVersionOf(ref), ref.kind, ref.namespace, {
        impersonate,
        labelSelector: `${TENANT_LABEL}=${owner.tenant}`,
      });
      return new Map(items.map((o) => [o.metadata.name ?? '', o]));
    } catch (e) {
      // Not listable as this identity (or kind gone): the Applier's own read decides.
      if (isKubeError(e, 'Forbidden') || isKubeError(e, 'UnknownKind')) {
        return undefined;
      }
      throw e;
    }
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < this.ttlMs) {
      return;
    }
    this.sweptAt = now;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
      }
    }
  }
}
