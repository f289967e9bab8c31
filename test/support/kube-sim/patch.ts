import { ApiError } from 'test/support/kube-sim/errors';
import type { Dict } from 'test/support/kube-sim/types';
import { clone, deepEqual, isDict } from 'test/support/kube-sim/types';

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function decodePointer(p: string): string[] {
  if (p === '') {
    return [];
  }
  if (!p.startsWith('/')) {
    throw unprocessable(`invalid JSON pointer: ${p}`);
  }
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[], path: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      cur = cur[Number(t)];
    } else if (isDict(cur)) {
      cur = cur[t];
    } else {
      cur = undefined;
    }
    if (cur === undefined) {
      throw unprocessable(`doc is missing path: "${path}": missing value`);
    }
  }
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of decodePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isDict(cur) ? cur[t] : undefined;
    if (cur === undefined) {
      throw unprocessable(`doc is missing path: "${path}": missing value`);
    }
  }
  return cur;
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = decodePointer(path);
  if (tokens.length === 0) {
    return clone(value);
  }
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    if (replace) {
      const i = Number(key);
      if (!(i >= 0 && i < parent.length)) {
        throw unprocessable(
          `replace operation does not apply: doc is missing key: ${path}: missing value`,
        );
      }
      parent[i] = clone(value);
    } else {
      const i = key === '-' ? parent.length : Number(key);
      if (!(i >= 0 && i <= parent.length) || Number.isNaN(i)) {
        throw unprocessable(
          `add operation does not apply: doc is missing path: "${path}": missing value`,
        );
      }
      parent.splice(i, 0, clone(value));
    }
  } else if (isDict(parent)) {
    if (replace && !(key in parent)) {
      throw unprocessable(
        `replace operation does not apply: doc is missing key: ${path}: missing value`,
      );
    }
    parent[key] = clone(value);
  } else {
    throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = decodePointer(path);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length)) {
      throw unprocessable(
        `remove operation does not apply: doc is missing path: "${path}": missing value`,
      );
    }
    parent.splice(i, 1);
  } else if (isDict(parent) && key in parent) {
    delete parent[key];
  } else {
    throw unprocessable(
      `remove operation does not apply: doc is missing path: "${path}": missing value`,
    );
  }
  return doc;
}

/** RFC 6902 JSON patch. A non-array body is a 400, a failing operation a 422. */
export function applyJsonPatch(target: Dict, patch: unknown): Dict {
  if (!Array.isArray(patch)) {
    throw new ApiError(
      400,
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  }
  if (patch.length > 10000) {
    throw new ApiError(413, 'RequestEntityTooLarge', 'The request is too large');
  }
  let doc: unknown = clone(target);
  for (const op of patch) {
    if (!isDict(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new ApiError(400, 'BadRequest', 'invalid JSON patch operation');
    }
    const path = op.path;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, path, op.value, true);
        break;
      case 'remove':
        doc = removeAt(doc, path);
        break;
      case 'move': {
        const v = clone(getAt(doc, String(op.from)));
        doc = removeAt(doc, String(op.from));
        doc = addAt(doc, path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(getAt(doc, String(op.from))), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) {
          throw unprocessable(`testing value ${path} failed: test failed`);
        }
        break;
      default:
        throw new ApiError(400, 'BadRequest', `Unexpected kind: ${op.op}`);
    }
  }
  if (!isDict(doc)) {
    throw unprocessable('patch result is not an object');
  }
  return doc;
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isDict(patch)) {
    return clone(patch);
  }
  const out: Dict = isDict(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
    } else {
      out[k] = applyMergePatch(out[k], v);
    }
  }
  return out;
}

/** Merge keys of the strategic-merge-patch lists of common built-in types. */
function mergeKeyFor(names: string[]): string | undefined {
  const last = names[names.length - 1];
  switch (last) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'ports':
      return names.length === 2 && names[0] === 'spec' && !names.includes('[]')
        ? 'port'
        : 'containerPort';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

function primitiveMergeList(names: string[]): boolean {
  return names.length === 2 && names[0] === 'metadata' && names[1] === 'finalizers';
}

/** Strategic merge patch for the common built-in list strategies and directives. */
export function applyStrategicMergePatch(
  target: unknown,
  patch: unknown,
  names: string[] = [],
): unknown {
  if (!isDict(patch)) {
    return clone(patch);
  }
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') {
    return undefined;
  }
  const out: Dict = isDict(target) ? { ...target } : {};
  const retain = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) {
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) {
        out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const childNames = [...names, k];
    if (Array.isArray(v)) {
      const key = mergeKeyFor(childNames);
      const cur = out[k];
      if (key && Array.isArray(cur)) {
        out[k] = mergeListByKey(cur, v, key, childNames);
      } else if (primitiveMergeList(childNames) && Array.isArray(cur)) {
        const merged = [...cur];
        for (const x of v) {
          if (!merged.some((y) => deepEqual(x, y))) {
            merged.push(x);
          }
        }
        out[k] = merged;
      } else {
        out[k] = clone(v.filter((x) => !(isDict(x) && x.$patch === 'delete')));
      }
      continue;
    }
    const merged = applyStrategicMergePatch(out[k], v, childNames);
    if (merged === undefined) {
      delete out[k];
    } else {
      out[k] = merged;
    }
  }
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) {
      if (!retain.includes(k)) {
        delete out[k];
      }
    }
  }
  return out;
}

function mergeListByKey(cur: unknown[], patch: unknown[], key: string, names: string[]): unknown[] {
  if (patch.some((x) => isDict(x) && x.$patch === 'replace')) {
    return clone(patch.filter((x) => !(isDict(x) && x.$patch === 'replace')));
  }
  const out = [...cur];
  for (const item of patch) {
    if (!isDict(item)) {
      continue;
    }
    const idx = out.findIndex((x) => isDict(x) && deepEqual(x[key], item[key]));
    if (item.$patch === 'delete') {
      if (idx >= 0) {
        out.splice(idx, 1);
      }
      continue;
    }
    if (idx >= 0) {
      out[idx] = applyStrategicMergePatch(out[idx], item, [...names, '[]']);
    } else {
      out.push(applyStrategicMergePatch({}, item, [...names, '[]']));
    }
  }
  return out;
}
