/** Loosely typed JSON helpers shared by the simulator. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Dict = Record<string, unknown>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Dict;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep copy of a JSON value. Hand-written: stored objects are plain JSON, and
 * structuredClone was the test server's largest CPU cost in the fleet benchmark.
 */
export function clone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) {
    return v;
  }
  if (Array.isArray(v)) {
    return v.map(clone) as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(v)) {
    out[k] = clone(item);
  }
  return out as T;
}

/** Deep equality for JSON values (key order insensitive). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) {
      return false;
    }
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) {
      return false;
    }
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Reads a nested value. */
export function getPath(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (Array.isArray(cur) && typeof p === 'number') {
      cur = cur[p];
    } else if (isDict(cur)) {
      cur = cur[String(p)];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Returns the dict at path, creating intermediate dicts. */
export function ensureDict(obj: Dict, ...path: string[]): Dict {
  let cur = obj;
  for (const p of path) {
    const next = cur[p];
    if (isDict(next)) {
      cur = next;
    } else {
      const created: Dict = {};
      cur[p] = created;
      cur = created;
    }
  }
  return cur;
}

export function nowRfc3339(ms: number = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
