import type { Comparison, FieldSet } from 'test/support/kube-sim/fieldset';
import { decodeFieldsV1, encodeFieldsV1 } from 'test/support/kube-sim/fieldset';
import type { ManagedFieldsEntry } from 'test/support/kube-sim/types';

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time: string;
  set: FieldSet;
}

export function decodeManagers(entries: ManagedFieldsEntry[] | undefined): Manager[] {
  return (entries ?? [])
    .filter((e) => typeof e.manager === 'string' || typeof e.operation === 'string')
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource || undefined,
      time: e.time,
      set: decodeFieldsV1(e.fieldsV1),
    }));
}

export function sameIdentity(a: Manager, b: Omit<Manager, 'set' | 'time'>): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.operation === 'Apply' || a.apiVersion === b.apiVersion) &&
    (a.subresource ?? '') === (b.subresource ?? '')
  );
}

export function encodeManagers(ms: Manager[]): ManagedFieldsEntry[] {
  const sorted = ms
    .filter((m) => m.set.size > 0)
    .sort((a, b) => {
      if (a.operation !== b.operation) {
        return a.operation === 'Apply' ? -1 : 1;
      }
      if (a.time !== b.time) {
        return a.time < b.time ? -1 : 1;
      }
      if (a.manager !== b.manager) {
        return a.manager < b.manager ? -1 : 1;
      }
      if (a.apiVersion !== b.apiVersion) {
        return a.apiVersion < b.apiVersion ? -1 : 1;
      }
      return (a.subresource ?? '') < (b.subresource ?? '') ? -1 : 1;
    });
  return sorted.map((m) => {
    const e: ManagedFieldsEntry = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(m.set),
    };
    if (m.subresource) {
      e.subresource = m.subresource;
    }
    return e;
  });
}

function changed(c: Comparison): boolean {
  return c.added.size + c.modified.size + c.removed.size > 0;
}

/** Ownership bookkeeping for a non-apply write (operation Update). */
export function recordUpdate(
  managers: Manager[],
  cmp: Comparison,
  who: Omit<Manager, 'set' | 'time'>,
  now: string,
): Manager[] {
  let mine = managers.find((m) => sameIdentity(m, who));
  const others = managers.filter((m) => m !== mine);
  for (const o of others) {
    for (const p of [...cmp.added, ...cmp.modified, ...cmp.removed]) {
      o.set.delete(p);
    }
  }
  if (!mine) {
    mine = { ...who, time: now, set: new Set() };
  }
  for (const p of [...cmp.added, ...cmp.modified]) {
    mine.set.add(p);
  }
  for (const p of cmp.removed) {
    mine.set.delete(p);
  }
  if (changed(cmp)) {
    mine.time = now;
  }
  return [...others, mine];
}
