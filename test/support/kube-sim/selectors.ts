import { Errors } from 'test/support/kube-sim/errors';
import type { KubeObject } from 'test/support/kube-sim/types';
import { getPath } from 'test/support/kube-sim/types';

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type LabelSelector = Requirement[];

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') {
      depth++;
    } else if (ch === ')') {
      depth--;
    }
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

const KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  if (!KEY_RE.test(key)) {
    throw Errors.badRequest(`unable to parse requirement: invalid label key "${key}"`);
  }
  return key;
}

/** Parses a label selector string (equality-, set- and existence-based requirements). */
export function parseLabelSelector(raw: string | null): LabelSelector {
  if (!raw) {
    return [];
  }
  return splitTopLevel(raw).map((part): Requirement => {
    let m = /^(!)?\s*([^\s!=()]+)$/.exec(part);
    if (m) {
      return { op: m[1] ? 'notexists' : 'exists', key: checkKey(m[2]) };
    }
    m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(part);
    if (m) {
      return { op: m[2] === '!=' ? 'neq' : 'eq', key: checkKey(m[1]), value: m[3] };
    }
    m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      return { op: m[2] === 'in' ? 'in' : 'notin', key: checkKey(m[1]), values };
    }
    throw Errors.badRequest(
      `unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`,
    );
  });
}

export function matchLabels(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Parses a field selector; `supported` lists the fields beyond metadata.name/namespace. */
export function parseFieldSelector(
  raw: string | null,
  supported: readonly string[],
  namespaced: boolean,
  custom: boolean,
): FieldRequirement[] {
  if (!raw) {
    return [];
  }
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((part) => {
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(part);
      if (!m) {
        throw Errors.badRequest(`invalid selector: '${part}'; can't understand '${part}'`);
      }
      const field = m[1].trim();
      const ok =
        field === 'metadata.name' ||
        (field === 'metadata.namespace' && (namespaced || !custom)) ||
        supported.includes(field);
      if (!ok) {
        throw Errors.badRequest(
          custom
            ? `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`
            : `field label not supported: ${field}`,
        );
      }
      return { field, value: m[3].trim(), negate: m[2] === '!=' };
    });
}

export function fieldValue(obj: KubeObject, field: string): string {
  if (field === 'metadata.name') {
    return obj.metadata.name ?? '';
  }
  if (field === 'metadata.namespace') {
    return obj.metadata.namespace ?? '';
  }
  const v = getPath(obj, ...field.split('.'));
  if (v === undefined || v === null) {
    return '';
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function matchFields(reqs: FieldRequirement[], obj: KubeObject): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}
