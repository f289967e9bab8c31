import type { KubeError, KubeRequestInfo } from 'src/common/kube/kube.errors';

import type { KubeObject, ObjectRef } from 'src/common/kube/kube-object';

export type { KubeObject, KubeObjectMeta, ObjectRef } from 'src/common/kube/kube-object';

/** One object applied by a previous reconcile of the Target (stored by the caller). */
export interface InventoryEntry extends ObjectRef {
  /** `sha256:<hex>` of the canonical desired JSON that was applied (see `desiredHash`). */
  appliedHash?: string;
  /** `metadata.resourceVersion` of the live object right after it was applied (or last checked). */
  resourceVersion?: string;
}

/** The objects' owner: written as ownership labels and used to select and guard deletes. */
export interface Owner {
  tenant: string;
  release: string;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'recreated';

/** Someone other than gitfleet changed an applied object. Paths only, never values. */
export interface DriftReport {
  ref: ObjectRef;
  /** `Modified`: fields differ from the desired state; `Deleted`: the object was gone. */
  type: 'Modified' | 'Deleted';
  /** Field paths like `.spec.replicas`, `.data.key`, `.spec.template.spec.containers[name=web].image`. */
  fields: string[];
}

export interface ObjectApplyResult {
  ref: ObjectRef;
  action: ApplyAction;
  /** Desired hash to store in the inventory as `appliedHash`. */
  hash: string;
  /** Live `resourceVersion` after this apply, to store in the inventory. */
  resourceVersion?: string;
  /** The drift that was corrected, when there was some. */
  drift?: DriftReport;
  /** The live object as last seen (apply response or the cheap read); lets health checks skip a read. */
  live?: KubeObject;
}

/** An object that failed validation (dry-run) or apply. */
export interface ObjectError {
  ref: ObjectRef;
  code: string;
  message: string;
  /** The request the cluster refused, when it answered one. */
  request?: KubeRequestInfo;
}

export interface ApplyResult {
  /** True when every object was applied (or was already up to date). */
  ok: boolean;
  /** Per object, in apply order; objects not reached (after a failure) are absent. */
  objects: ObjectApplyResult[];
  /** Validation or apply errors; with a dry-run error nothing of that stage was written. */
  errors: ObjectError[];
  /** Where it stopped when `ok` is false: `validation` = nothing written in that stage. */
  failedPhase?: 'validation' | 'apply' | 'establish';
  /** Set when the cluster itself failed (unreachable, rate limited, ...): retry later. */
  clusterError?: KubeError;
  drift: DriftReport[];
  counts: { created: number; configured: number; unchanged: number; recreated: number };
}

export type PruneSkipReason =
  | 'NotFound'
  | 'NotOwned'
  | 'PruneDisabled'
  | 'KindNotServed'
  | 'Terminating'
  /** Another release on the cluster owns or renders it now: it stays for that release. */
  | 'HandedOver'
  /** A CRD of a release that did not opt in to pruning CRDs. */
  | 'CustomResourceDefinitionKept'
  /** A CRD whose custom resources other releases (or nobody gitfleet knows) still hold. */
  | 'CustomResourcesRemain'
  /** A Namespace holding objects this release does not own. */
  | 'NamespaceInUse'
  /** One of the grant's namespaces: onboarding made it, and it stays while the grant does. */
  | 'GrantedNamespace';

/** Why an object must stay although it left the set; asked before each delete. */
export interface PruneKeep {
  reason: PruneSkipReason;
  message: string;
}

export interface PruneResult {
  deleted: ObjectRef[];
  skipped: { ref: ObjectRef; reason: PruneSkipReason; message: string }[];
  errors: ObjectError[];
}

export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound';

export interface HealthResult {
  status: HealthStatus;
  message: string;
  /** Why, when more specific than the status (`NotObserved`: no controller saw the object). */
  reason?: 'NotObserved';
}

export interface ObjectHealth extends HealthResult {
  ref: ObjectRef;
}

export interface WaitForHealthyResult {
  /** True when every object is Current. */
  healthy: boolean;
  /** True when the deadline passed before every object was Current. */
  timedOut: boolean;
  /** Objects not Current at the end (for `HealthCheckFailed`). */
  failing: ObjectHealth[];
  /** Last seen status of every object. */
  objects: ObjectHealth[];
  /** Last seen resourceVersion per object key (`refKey`), for the inventory. */
  resourceVersions: Record<string, string>;
  /** The cluster's refusal that ended the wait early (e.g. 403 on a read), if one did. */
  readError?: KubeError;
  /** Number of polling rounds that read from the cluster. */
  polls: number;
}
