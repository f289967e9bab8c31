import { ApiError } from 'test/support/kube-sim/errors';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { fieldShape, KEY_DEFAULTS } from 'test/support/kube-sim/schema';
import type { Dict } from 'test/support/kube-sim/types';
import { clone, isDict } from 'test/support/kube-sim/types';

/**
 * Field paths are encoded as FieldsV1 element strings (`f:name`, `k:{...}`, `v:...`, `i:0`)
 * joined by NUL, so a field set is a plain Set<string>.
 */
export const SEP = '\u0000';
export type FieldSet = Set<string>;

type EntryKind = 'leaf' | 'item' | 'map';
interface FlatEntry {
  kind: EntryKind;
  value: string;
}
export type Flat = Map<string, FlatEntry>;

const TRACKED_META = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

function sortedKeyJson(obj: Dict): string {
  const keys = Object.keys(obj).sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, obj[k]])));
}

export function listItemKey(item: unknown, keys: string[]): string | undefined {
  if (!isDict(item)) {
    return undefined;
  }
  const k: Dict = {};
  for (const name of keys) {
    const v = item[name] ?? KEY_DEFAULTS[name];
    if (v !== undefined) {
      k[name] = v;
    }
  }
  return Object.keys(k).length ? `k:${sortedKeyJson(k)}` : undefined;
}

/**
 * Flattens an object into its field paths. `strict` rejects duplicate list keys
 * (applied configurations), live objects tolerate them.
 */
export function flatten(rt: ResourceType, obj: Dict, strict = false): Flat {
  const out: Flat = new Map();
  const walk = (value: unknown, path: string, names: string[]): void => {
    if (Array.isArray(value)) {
      const shape = fieldShape(rt, names, true);
      if (
        value.length === 0 ||
        shape.type === 'atomic' ||
        shape.type === 'map' ||
        shape.type === 'struct'
      ) {
        out.set(path, { kind: 'leaf', value: JSON.stringify(value) });
        return;
      }
      for (const item of value) {
        let el: string | undefined;
        if (shape.type === 'set') {
          el = `v:${JSON.stringify(item)}`;
        } else {
          el = listItemKey(item, shape.keys);
        }
        if (el === undefined) {
          continue;
        }
        const p = path + SEP + el;
        if (out.has(p)) {
          if (strict) {
            throw new ApiError(
              500,
              undefined,
              `failed to create typed patch object: .${names.join('.')}: duplicate entries for key ${el.slice(2)}`,
            );
          }
          continue;
        }
        if (shape.type === 'set') {
          out.set(p, { kind: 'leaf', value: JSON.stringify(item) });
        } else {
          out.set(p, { kind: 'item', value: '' });
          for (const [k, v] of Object.entries(item as Dict)) {
            walk(v, p + SEP + 'f:' + k, [...names, '[]', k]);
          }
        }
      }
      return;
    }
    if (isDict(value)) {
      const shape = fieldShape(rt, names, false);
      const keys = Object.keys(value);
      if (shape.type === 'atomic' || keys.length === 0) {
        out.set(path, { kind: 'leaf', value: JSON.stringify(value) });
        return;
      }
      if (shape.type === 'map') {
        out.set(path, { kind: 'map', value: '' });
      }
      for (const k of keys) {
        if (value[k] !== undefined) {
          walk(value[k], path + SEP + 'f:' + k, [...names, k]);
        }
      }
      return;
    }
    out.set(path, { kind: 'leaf', value: JSON.stringify(value) });
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined) {
      continue;
    }
    if (k === 'metadata') {
      if (isDict(v)) {
        for (const mk of TRACKED_META) {
          if (v[mk] !== undefined) {
            walk(v[mk], `f:metadata${SEP}f:${mk}`, ['metadata', mk]);
          }
        }
      }
      continue;
    }
    walk(v, `f:${k}`, [k]);
  }
  return out;
}

/** Fields an Apply configuration owns: leaves and list items, not intermediate structs/maps. */
export function appliedSet(flat: Flat): FieldSet {
  const s: FieldSet = new Set();
  for (const [p, e] of flat) {
    if (e.kind !== 'map') {
      s.add(p);
    }
  }
  return s;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

export function compare(before: Flat, after: Flat): Comparison {
  const added: FieldSet = new Set();
  const modified: FieldSet = new Set();
  const removed: FieldSet = new Set();
  for (const [p, e] of after) {
    const old = before.get(p);
    if (!old) {
      added.add(p);
    } else if (old.value !== e.value || old.kind !== e.kind) {
      modified.add(p);
    }
  }
  for (const p of before.keys()) {
    if (!after.has(p)) {
      removed.add(p);
    }
  }
  return { added, modified, removed };
}

// ---- FieldsV1 encoding ----

interface Trie {
  self: boolean;
  children: Map<string, Trie>;
}

const ORDER: Record<string, number> = { f: 1, k: 2, v: 3, i: 4 };

export function encodeFieldsV1(set: FieldSet): Dict {
  const root: Trie = { self: false, children: new Map() };
  for (const p of set) {
    let node = root;
    for (const el of p.split(SEP)) {
      let next = node.children.get(el);
      if (!next) {
        next = { self: false, children: new Map() };
        node.children.set(el, next);
      }
      node = next;
    }
    node.self = true;
  }
  const render = (t: Trie): Dict => {
    const out: Dict = {};
    if (t.self && t.children.size > 0) {
      out['.'] = {};
    }
    const keys = [...t.children.keys()].sort((a, b) => {
      const d = (ORDER[a[0]] ?? 9) - (ORDER[b[0]] ?? 9);
      return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
    });
    for (const k of keys) {
      out[k] = render(t.children.get(k) as Trie);
    }
    return out;
  };
  return render(root);
}

export function decodeFieldsV1(fields: unknown): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: unknown, prefix: string): void => {
    if (!isDict(node)) {
      return;
    }
    const keys = Object.keys(node);
    if (prefix && (keys.length === 0 || keys.includes('.'))) {
      out.add(prefix);
    }
    for (const k of keys) {
      if (k !== '.') {
        walk(node[k], prefix ? prefix + SEP + k : k);
      }
    }
  };
  walk(fields, '');
  return out;
}

/** Renders a path like structured-merge-diff: `.spec.containers[name="web"].image`. */
export function renderPath(p: string): string {
  let out = '';
  for (const el of p.split(SEP)) {
    const body = el.slice(2);
    switch (el[0]) {
      case 'f':
        out += `.${body}`;
        break;
      case 'k': {
        const k = JSON.parse(body) as Dict;
        out += `[${Object.keys(k)
          .map((name) => `${name}=${JSON.stringify(k[name])}`)
          .join(',')}]`;
        break;
      }
      case 'v':
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}

// ---- merge and removal ----

function shapeOf(rt: ResourceType, names: string[], v: unknown): ReturnType<typeof fieldShape> {
  return fieldShape(rt, names, Array.isArray(v));
}

/** Merges an applied configuration into a live object (structured merge). */
export function mergeApplied(rt: ResourceType, live: Dict, applied: Dict): Dict {
  const mergeValue = (l: unknown, a: unknown, names: string[]): unknown => {
    if (a === null) {
      return null;
    }
    if (isDict(a)) {
      const shape = shapeOf(rt, names, a);
      if (shape.type === 'atomic' || !isDict(l)) {
        return clone(a);
      }
      const out: Dict = { ...l };
      for (const [k, v] of Object.entries(a)) {
        if (v === null) {
          delete out[k];
          continue;
        }
        out[k] = mergeValue(l[k], v, [...names, k]);
      }
      return out;
    }
    if (Array.isArray(a)) {
      const shape = fieldShape(rt, names, true);
      if (
        !Array.isArray(l) ||
        shape.type === 'atomic' ||
        shape.type === 'map' ||
        shape.type === 'struct'
      ) {
        return clone(a);
      }
      if (shape.type === 'set') {
        const out = [...l];
        for (const v of a) {
          if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) {
            out.push(clone(v));
          }
        }
        return out;
      }
      const out = [...l];
      for (const item of a) {
        const key = listItemKey(item, shape.keys);
        const idx =
          key === undefined ? -1 : out.findIndex((x) => listItemKey(x, shape.keys) === key);
        if (idx >= 0) {
          out[idx] = mergeValue(out[idx], item, [...names, '[]']);
        } else {
          out.push(clone(item));
        }
      }
      return out;
    }
    return a;
  };
  const out: Dict = { ...live };
  for (const [k, v] of Object.entries(applied)) {
    if (k === 'metadata' && isDict(v)) {
      const meta: Dict = { ...(isDict(live.metadata) ? live.metadata : {}) };
      for (const mk of TRACKED_META) {
        if (v[mk] === null) {
          delete meta[mk];
        } else if (v[mk] !== undefined) {
          meta[mk] = mergeValue(meta[mk], v[mk], ['metadata', mk]);
        }
      }
      out.metadata = meta;
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    out[k] = mergeValue(live[k], v, [k]);
  }
  return out;
}

/** Removes the given field paths from obj (in place). Removing a list item removes the whole item. */
export function removePaths(rt: ResourceType, obj: Dict, paths: Iterable<string>): void {
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  for (const p of sorted) {
    const els = p.split(SEP);
    let parent: unknown = obj;
    let names: string[] = [];
    let ok = true;
    for (let i = 0; i < els.length - 1 && ok; i++) {
      const r = step(rt, parent, els[i], names);
      if (r === undefined) {
        ok = false;
      } else {
        parent = r.value;
        names = r.names;
      }
    }
    if (!ok) {
      continue;
    }
    const last = els[els.length - 1];
    if (last.startsWith('f:') && isDict(parent)) {
      delete parent[last.slice(2)];
    } else if (Array.isArray(parent)) {
      const shape = fieldShape(rt, names, true);
      const idx = parent.findIndex((item) =>
        last.startsWith('v:')
          ? `v:${JSON.stringify(item)}` === last
          : shape.type === 'map-list' && listItemKey(item, shape.keys) === last,
      );
      if (idx >= 0) {
        parent.splice(idx, 1);
      }
    }
  }
}

function step(
  rt: ResourceType,
  cur: unknown,
  el: string,
  names: string[],
): { value: unknown; names: string[] } | undefined {
  if (el.startsWith('f:')) {
    const name = el.slice(2);
    if (!isDict(cur) || cur[name] === undefined) {
      return undefined;
    }
    return { value: cur[name], names: [...names, name] };
  }
  if (Array.isArray(cur)) {
    const shape = fieldShape(rt, names, true);
    if (shape.type !== 'map-list') {
      return undefined;
    }
    const item = cur.find((x) => listItemKey(x, shape.keys) === el);
    return item === undefined ? undefined : { value: item, names: [...names, '[]'] };
  }
  return undefined;
}

export function subtractPrefix(set: FieldSet, prefix: string): void {
  for (const p of [...set]) {
    if (p === prefix || p.startsWith(prefix + SEP)) {
      set.delete(p);
    }
  }
}
