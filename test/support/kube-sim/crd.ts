import type { FieldError } from 'test/support/kube-sim/errors';
import { FieldErrors } from 'test/support/kube-sim/errors';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { STANDARD_VERBS } from 'test/support/kube-sim/schema';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { clone, getPath, isDict } from 'test/support/kube-sim/types';

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: Dict;
  status: boolean;
  scale: boolean;
  selectableFields: string[];
}

export function crdVersions(crd: KubeObject): CrdVersion[] {
  const versions = getPath(crd, 'spec', 'versions');
  if (!Array.isArray(versions)) {
    return [];
  }
  return versions.filter(isDict).map((v) => ({
    name: String(v.name),
    served: v.served === true,
    storage: v.storage === true,
    schema: isDict(getPath(v, 'schema', 'openAPIV3Schema'))
      ? (getPath(v, 'schema', 'openAPIV3Schema') as Dict)
      : undefined,
    status: isDict(getPath(v, 'subresources', 'status')),
    scale: isDict(getPath(v, 'subresources', 'scale')),
    selectableFields: (Array.isArray(v.selectableFields) ? v.selectableFields : [])
      .filter(isDict)
      .map((f) => String(f.jsonPath).replace(/^\./, '')),
  }));
}

function structuralErrors(s: unknown, field: string, root: boolean): FieldError[] {
  if (!isDict(s)) {
    return [FieldErrors.required(field, 'must be an object')];
  }
  const errs: FieldError[] = [];
  if (
    s.type === undefined &&
    s['x-kubernetes-int-or-string'] !== true &&
    s['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    errs.push(
      FieldErrors.required(`${field}.type`, 'must not be empty for specified object fields'),
    );
  }
  if (root && s.type !== undefined && s.type !== 'object') {
    errs.push(FieldErrors.invalid(`${field}.type`, s.type, 'must be object at the root'));
  }
  if (isDict(s.properties)) {
    for (const [k, v] of Object.entries(s.properties)) {
      if (root && k === 'metadata') {
        continue;
      }
      errs.push(...structuralErrors(v, `${field}.properties[${k}]`, false));
    }
  }
  if (isDict(s.items)) {
    errs.push(...structuralErrors(s.items, `${field}.items`, false));
  }
  if (isDict(s.additionalProperties)) {
    errs.push(...structuralErrors(s.additionalProperties, `${field}.additionalProperties`, false));
  }
  return errs;
}

/** Validation of a CustomResourceDefinition (the subset that catches common authoring mistakes). */
export function validateCrd(crd: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const group = getPath(crd, 'spec', 'group');
  const names = getPath(crd, 'spec', 'names');
  const scope = getPath(crd, 'spec', 'scope');
  if (typeof group !== 'string' || !group.includes('.')) {
    errs.push(
      FieldErrors.invalid('spec.group', group ?? '', 'should be a domain with at least one dot'),
    );
  }
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    errs.push(FieldErrors.notSupported('spec.scope', scope ?? '', ['Cluster', 'Namespaced']));
  }
  if (!isDict(names) || typeof names.kind !== 'string' || !names.kind) {
    errs.push(FieldErrors.required('spec.names.kind', ''));
  }
  if (
    !isDict(names) ||
    typeof names.plural !== 'string' ||
    names.plural !== names.plural.toLowerCase()
  ) {
    errs.push(
      FieldErrors.invalid('spec.names.plural', getPath(names, 'plural') ?? '', 'must be lowercase'),
    );
  }
  const versions = crdVersions(crd);
  if (versions.length === 0) {
    errs.push(
      FieldErrors.required(
        'spec.versions',
        'must have exactly one version marked as storage version',
      ),
    );
  }
  if (versions.filter((v) => v.storage).length !== 1) {
    errs.push(
      FieldErrors.invalid(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((v, i) => {
    if (!v.schema) {
      errs.push(
        FieldErrors.required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'),
      );
    } else {
      errs.push(...structuralErrors(v.schema, `spec.versions[${i}].schema.openAPIV3Schema`, true));
    }
  });
  return errs;
}

/** Builds the served resource types for an established CRD (one per served version). */
export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = crd.spec as Dict;
  const names = spec.names as Dict;
  const versions = crdVersions(crd);
  const storage = versions.find((v) => v.storage)?.name ?? versions[0]?.name ?? 'v1';
  const schemas: Record<string, Dict | undefined> = {};
  for (const v of versions) {
    schemas[v.name] = v.schema;
  }
  return versions
    .filter((v) => v.served)
    .map((v) => ({
      group: String(spec.group),
      version: v.name,
      kind: String(names.kind),
      listKind: typeof names.listKind === 'string' ? names.listKind : `${String(names.kind)}List`,
      plural: String(names.plural),
      singular:
        typeof names.singular === 'string' ? names.singular : String(names.kind).toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      shortNames: Array.isArray(names.shortNames) ? (names.shortNames as string[]) : undefined,
      categories: Array.isArray(names.categories) ? (names.categories as string[]) : undefined,
      verbs: STANDARD_VERBS,
      status: v.status,
      scale: v.scale,
      generation: v.status ? 'cr' : 'crNoStatus',
      nameRule: 'subdomain',
      returnDeletedObject: false,
      defaultPropagation: 'Background',
      fieldSelectors: v.selectableFields,
      strategic: false,
      virtual: false,
      crd: {
        crdName: crd.metadata.name ?? '',
        storageVersion: storage,
        servedVersions: versions.filter((x) => x.served).map((x) => x.name),
        schemas,
        selectableFields: v.selectableFields,
      },
    }));
}

const META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
  'managedFields',
  'selfLink',
]);

/**
 * Prunes fields the structural schema does not declare and applies `default:` values.
 * Returns the pruned field paths (for fieldValidation Strict/Warn).
 */
export function pruneAndDefault(schema: Dict | undefined, obj: KubeObject): string[] {
  const pruned: string[] = [];
  for (const k of Object.keys(obj.metadata)) {
    if (!META_FIELDS.has(k)) {
      pruned.push(`metadata.${k}`);
      delete obj.metadata[k];
    }
  }
  if (!schema) {
    return pruned;
  }
  const walk = (v: unknown, s: Dict, path: string): void => {
    if (s['x-kubernetes-preserve-unknown-fields'] === true && !isDict(s.properties)) {
      return;
    }
    if (Array.isArray(v)) {
      if (isDict(s.items)) {
        v.forEach((item, i) => walk(item, s.items as Dict, `${path}[${i}]`));
      }
      return;
    }
    if (!isDict(v)) {
      return;
    }
    const props = isDict(s.properties) ? s.properties : undefined;
    const addl = isDict(s.additionalProperties) ? s.additionalProperties : undefined;
    if (props) {
      for (const [k, ps] of Object.entries(props)) {
        if (v[k] === undefined && isDict(ps) && ps.default !== undefined) {
          v[k] = clone(ps.default);
        }
      }
    }
    for (const k of Object.keys(v)) {
      const child = props?.[k] ?? addl;
      const p = path ? `${path}.${k}` : k;
      if (isDict(child)) {
        walk(v[k], child, p);
      } else if (
        s['x-kubernetes-preserve-unknown-fields'] !== true &&
        s.additionalProperties !== true
      ) {
        pruned.push(p);
        delete v[k];
      }
    }
  };
  const root: Dict = { ...obj };
  delete root.apiVersion;
  delete root.kind;
  delete root.metadata;
  walk(root, schema, '');
  for (const k of Object.keys(obj)) {
    if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata' && root[k] === undefined) {
      delete obj[k];
    }
  }
  for (const [k, v] of Object.entries(root)) {
    obj[k] = v;
  }
  return pruned;
}

function typeOk(type: unknown, v: unknown): boolean {
  switch (type) {
    case 'object':
      return isDict(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

/** Type, required, enum, pattern and bounds validation against a structural schema. */
export function validateAgainstSchema(schema: Dict | undefined, obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!schema) {
    return errs;
  }
  const walk = (v: unknown, s: Dict, path: string): void => {
    if (v === null && s.nullable === true) {
      return;
    }
    if (s['x-kubernetes-int-or-string'] === true) {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) {
        errs.push(FieldErrors.invalid(path, v, `${path} in body must be of type int-or-string`));
      }
      return;
    }
    if (s.type !== undefined && !typeOk(s.type, v)) {
      errs.push(
        FieldErrors.invalid(
          path,
          typeof v === 'object' ? JSON.stringify(v) : v,
          `${path} in body must be of type ${JSON.stringify(s.type).replace(/"/g, '')}: ${JSON.stringify(Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'number' && Number.isInteger(v) ? 'integer' : typeof v)}`,
        ),
      );
      return;
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) {
      errs.push(FieldErrors.notSupported(path, v, s.enum.map(String)));
    }
    if (typeof v === 'string' && typeof s.pattern === 'string' && !new RegExp(s.pattern).test(v)) {
      errs.push(FieldErrors.invalid(path, v, `${path} in body should match '${s.pattern}'`));
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) {
        errs.push(
          FieldErrors.invalid(
            path,
            v,
            `${path} in body should be greater than or equal to ${s.minimum}`,
          ),
        );
      }
      if (typeof s.maximum === 'number' && v > s.maximum) {
        errs.push(
          FieldErrors.invalid(
            path,
            v,
            `${path} in body should be less than or equal to ${s.maximum}`,
          ),
        );
      }
    }
    if (isDict(v)) {
      if (Array.isArray(s.required)) {
        for (const r of s.required) {
          if (v[String(r)] === undefined) {
            errs.push(FieldErrors.required(path ? `${path}.${String(r)}` : String(r), ''));
          }
        }
      }
      const props = isDict(s.properties) ? s.properties : {};
      for (const [k, child] of Object.entries(v)) {
        const cs = props[k] ?? s.additionalProperties;
        if (isDict(cs)) {
          walk(child, cs, path ? `${path}.${k}` : k);
        }
      }
    }
    if (Array.isArray(v) && isDict(s.items)) {
      v.forEach((item, i) => walk(item, s.items as Dict, `${path}[${i}]`));
    }
  };
  const root: Dict = { ...obj };
  delete root.apiVersion;
  delete root.kind;
  delete root.metadata;
  const s = { ...schema };
  if (isDict(s.properties)) {
    const props = { ...s.properties };
    delete props.metadata;
    delete props.apiVersion;
    delete props.kind;
    s.properties = props;
  }
  if (Array.isArray(s.required)) {
    s.required = s.required.filter((r) => r !== 'metadata' && r !== 'apiVersion' && r !== 'kind');
  }
  walk(root, s, '');
  return errs;
}
