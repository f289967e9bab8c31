import { isKubeError } from 'src/common/kube/kube.errors';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import {
  apiVersionOf,
  isCrd,
  isNamespace,
  isOwnedBy,
  RELEASE_LABEL,
  refKey,
  refString,
  TENANT_LABEL,
} from 'src/modules/reconciler/kube/kube-objects';
import type {
  KubeObject,
  ObjectRef,
  Owner,
  PruneKeep,
} from 'src/modules/reconciler/kube/kube.types';
import type { ClusterPeer } from 'src/modules/releases/releases.types';

/**
 * The other targets on one cluster, as one run sees them: who holds an object in
 * its inventory and who renders it without holding it (a conflict). Read once per
 * run (one query), consulted per object in memory.
 */
export class ClusterPeers {
  private readonly holders = new Map<string, ClusterPeer[]>();
  private readonly claimants = new Map<string, ClusterPeer[]>();
  private readonly byOwner = new Map<string, ClusterPeer>();

  constructor(
    readonly peers: readonly ClusterPeer[],
    /** The tenant the run acts for: only its own release names may be shown. */
    private readonly tenantName: string,
  ) {
    for (const peer of peers) {
      for (const entry of peer.inventory) {
        push(this.holders, refKey(entry), peer);
      }
      for (const entry of peer.conflicts) {
        push(this.claimants, refKey(entry), peer);
      }
      this.byOwner.set(ownerKey(peer.tenantName, peer.releaseName), peer);
    }
  }

  /** A target staying on the cluster that holds the object in its inventory. */
  activeHolder(ref: ObjectRef): ClusterPeer | undefined {
    return this.holders.get(refKey(ref))?.find((p) => !p.departing);
  }

  /** A target staying on the cluster that renders the object and would adopt it. */
  adoptingClaimant(ref: ObjectRef): ClusterPeer | undefined {
    return this.claimants.get(refKey(ref))?.find((p) => !p.departing && p.adopt !== 'Never');
  }

  /** The target of the release whose ownership labels a live object carries, if gitfleet knows it here. */
  labelOwner(obj: KubeObject): ClusterPeer | undefined {
    const labels = obj.metadata.labels ?? {};
    const tenant = labels[TENANT_LABEL];
    const release = labels[RELEASE_LABEL];
    return tenant === undefined || release === undefined
      ? undefined
      : this.byOwner.get(ownerKey(tenant, release));
  }

  /** How a peer may be named to the tenant of this run: another tenant's names never show. */
  describe(peer: ClusterPeer): string {
    return peer.tenantName === this.tenantName
      ? `release "${peer.releaseName}"`
      : 'a release of another tenant';
  }

  /** Who owns a live object, as the tenant of this run may read it. */
  describeOwnerOf(obj: KubeObject): string {
    const labels = obj.metadata.labels ?? {};
    const tenant = labels[TENANT_LABEL];
    const release = labels[RELEASE_LABEL];
    if (tenant === undefined || release === undefined) {
      return 'not managed by gitfleet';
    }
    return tenant === this.tenantName ? `release "${release}"` : 'another tenant';
  }

  /**
   * Targets to re-check at once after objects were deleted: those holding a deleted
   * object, an object in a deleted Namespace or of a deleted CRD's kind, or
   * rendering (claiming) a deleted or handed-over object.
   */
  disturbedBy(
    deleted: readonly ObjectRef[],
    deletedKinds: ReadonlySet<string>,
    handedOver: readonly ObjectRef[],
  ): ClusterPeer[] {
    const deletedKeys = new Set(deleted.map(refKey));
    const namespaces = new Set(deleted.filter(isNamespace).map((r) => r.name));
    const claimed = new Set([...deletedKeys, ...handedOver.map(refKey)]);
    return this.peers.filter(
      (peer) =>
        peer.inventory.some(
          (e) =>
            deletedKeys.has(refKey(e)) ||
            (e.namespace !== undefined && namespaces.has(e.namespace)) ||
            deletedKinds.has(`${e.group}/${e.kind}`),
        ) || peer.conflicts.some((e) => claimed.has(refKey(e))),
    );
  }
}

function push(map: Map<string, ClusterPeer[]>, key: string, peer: ClusterPeer): void {
  const list = map.get(key);
  if (list === undefined) {
    map.set(key, [peer]);
  } else {
    list.push(peer);
  }
}

function ownerKey(tenant: string, release: string): string {
  return `${tenant}/${release}`;
}

/** `group/Kind` a live CRD defines, and the apiVersion to list its objects with. */
export function crdKindOf(
  crd: KubeObject,
): { groupKind: string; apiVersion: string; kind: string } | undefined {
  const spec = (crd.spec ?? {}) as {
    group?: unknown;
    names?: { kind?: unknown };
    versions?: { name?: unknown; served?: unknown; storage?: unknown }[];
  };
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  const version =
    versions.find((v) => v.storage === true && v.served !== false) ??
    versions.find((v) => v.served !== false);
  if (
    typeof spec.group !== 'string' ||
    typeof spec.names?.kind !== 'string' ||
    typeof version?.name !== 'string'
  ) {
    return undefined;
  }
  return {
    groupKind: `${spec.group}/${spec.names.kind}`,
    apiVersion: `${spec.group}/${version.name}`,
    kind: spec.names.kind,
  };
}

/**
 * Namespaced kinds looked into before a Namespace is deleted, beside the kinds
 * gitfleet's inventories on the cluster hold there. Deleting a Namespace deletes
 * everything in it, so an object nobody declared must keep it as much as one of
 * another release; kinds outside this list and the inventories are not seen.
 */
const NAMESPACE_CONTENT_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
];

/** What Kubernetes itself puts into every Namespace; never a reason to keep one. */
function madeByKubernetes(obj: KubeObject): boolean {
  const name = obj.metadata.name;
  return (
    (obj.kind === 'ConfigMap' && name === 'kube-root-ca.crt') ||
    (obj.kind === 'ServiceAccount' && name === 'default') ||
    // Dependents (Pods of a ReplicaSet, tokens of a ServiceAccount) go with their owner.
    (Array.isArray(obj.metadata.ownerReferences) && obj.metadata.ownerReferences.length > 0)
  );
}

/**
 * Decides whether a CRD or a Namespace of this release may go. Reads as gitfleet
 * itself (not the tenant's identity), so it sees what the tenant may not; only
 * counts and what the tenant may know are reported.
 */
export class SharedObjectGuard {
  /** `group/Kind` of the CRDs let go, to wake the targets holding their objects. */
  readonly releasedKinds = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly owner: Owner,
    private readonly peers: ClusterPeers,
    private readonly pruneCrds: boolean,
    /** The grant's namespaces: a release may declare their Namespace, never delete it. */
    private readonly grantedNamespaces: ReadonlySet<string> = new Set(),
  ) {}

  async keep(ref: ObjectRef, live: KubeObject): Promise<PruneKeep | undefined> {
    const holder = this.peers.activeHolder(ref) ?? this.peers.adoptingClaimant(ref);
    if (holder !== undefined) {
      return {
        reason: 'HandedOver',
        message: `${refString(ref)} is kept: ${this.peers.describe(holder)} on this cluster renders it now`,
      };
    }
    if (isCrd(ref)) {
      return this.keepCrd(ref, live);
    }
    if (isNamespace(ref)) {
      return this.keepNamespace(ref);
    }
    return undefined;
  }

  private async keepCrd(ref: ObjectRef, live: KubeObject): Promise<PruneKeep | undefined> {
    if (!this.pruneCrds) {
      return {
        reason: 'CustomResourceDefinitionKept',
        message: `${refString(ref)} is kept: the release does not set pruneCustomResourceDefinitions`,
      };
    }
    const kind = crdKindOf(live);
    if (kind === undefined) {
      return undefined;
    }
    let items: KubeObject[];
    try {
      items = await this.api.list(kind.apiVersion, kind.kind, undefined);
    } catch (e) {
      if (isKubeError(e, 'UnknownKind')) {
        this.releasedKinds.add(kind.groupKind);
        return undefined;
      }
      // Deleting a CRD deletes every object of its kind: without proof, keep it.
      return {
        reason: 'CustomResourcesRemain',
        message: `${refString(ref)} is kept: its custom resources could not be listed`,
      };
    }
    const foreign = items.filter((o) => !isOwnedBy(o, this.owner));
    if (foreign.length > 0) {
      return {
        reason: 'CustomResourcesRemain',
        message: `${refString(ref)} is kept: ${foreign.length} ${kind.kind} object(s) remain that this release does not own (${this.owners(foreign)})`,
      };
    }
    this.releasedKinds.add(kind.groupKind);
    return undefined;
  }

  private async keepNamespace(ref: ObjectRef): Promise<PruneKeep | undefined> {
    const kinds = new Map(NAMESPACE_CONTENT_KINDS.map((k) => [`${k.apiVersion}|${k.kind}`, k]));
    for (const peer of this.peers.peers) {
      for (const entry of peer.inventory) {
        if (entry.namespace === ref.name) {
          const apiVersion = apiVersionOf(entry);
          kinds.set(`${apiVersion}|${entry.kind}`, { apiVersion, kind: entry.kind });
        }
      }
    }
    const foreign: KubeObject[] = [];
    for (const { apiVersion, kind } of kinds.values()) {
      let items: KubeObject[];
      try {
        items = await this.api.list(apiVersion, kind, ref.name);
      } catch (e) {
        if (isKubeError(e, 'UnknownKind')) {
          continue;
        }
        return {
          reason: 'NamespaceInUse',
          message: `${refString(ref)} is kept: its ${kind} objects could not be listed`,
        };
      }
      foreign.push(...items.filter((o) => !madeByKubernetes(o) && !isOwnedBy(o, this.owner)));
    }
    if (foreign.length === 0) {
      return this.grantedNamespaces.has(ref.name)
        ? {
            reason: 'GrantedNamespace',
            message: `${refString(ref)} is kept: it is one of the tenant's granted namespaces on this cluster, and stays while the grant does`,
          }
        : undefined;
    }
    return {
      reason: 'NamespaceInUse',
      message: `${refString(ref)} is kept: it holds ${foreign.length} object(s) this release does not own (${this.owners(foreign)})`,
    };
  }

  /** A few owners of foreign objects, as the tenant may read them. */
  private owners(objects: readonly KubeObject[]): string {
    const seen = new Set<string>();
    for (const o of objects) {
      const owner = this.peers.describeOwnerOf(o);
      // Names of objects only where the tenant may see them: never another tenant's.
      seen.add(
        owner === 'another tenant'
          ? 'objects of another tenant'
          : `${o.kind}/${o.metadata.name ?? ''}: ${owner}`,
      );
      if (seen.size >= 3) {
        break;
      }
    }
    return [...seen].join('; ');
  }
}
