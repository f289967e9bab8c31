import { createHash } from 'node:crypto';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { apiVersionOf } from 'test/support/kube-sim/schema';
import type { Dict } from 'test/support/kube-sim/types';

export const VERSION_INFO = {
  major: '1',
  minor: '34',
  emulationMajor: '1',
  emulationMinor: '34',
  minCompatibilityMajor: '1',
  minCompatibilityMinor: '33',
  gitVersion: 'v1.34.0-kube-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-08-27T00:00:00Z',
  goVersion: 'go1.24.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Kubernetes version priority: GA > beta > alpha, then by numbers (v1 > v1beta2 > v1beta1). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) {
      return [-1, 0, 0];
    }
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    if (pa[i] !== pb[i]) {
      return pb[i] - pa[i];
    }
  }
  return a < b ? -1 : 1;
}

function storageHash(rt: ResourceType): string {
  return createHash('sha256')
    .update(`${rt.group}/${rt.version}/${rt.kind}`)
    .digest('base64')
    .slice(0, 11);
}

function groupsOf(types: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of types) {
    if (t.group === '') {
      continue;
    }
    const vs = groups.get(t.group) ?? [];
    if (!vs.includes(t.version)) {
      vs.push(t.version);
    }
    groups.set(t.group, vs);
  }
  for (const vs of groups.values()) {
    vs.sort(compareVersions);
  }
  return groups;
}

export function apiGroup(name: string, versions: string[]): Dict {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** Discovery documents for one cluster's set of served types. */
export class Discovery {
  private readonly groups: Map<string, string[]>;
  private openapiRoot?: Dict;
  private readonly openapiDocs = new Map<string, Dict>();

  constructor(private readonly types: ResourceType[]) {
    this.groups = groupsOf(types);
  }

  apiVersions(host: string): Dict {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
    };
  }

  apiGroupList(): Dict {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...this.groups].map(([g, vs]) => apiGroup(g, vs)),
    };
  }

  apiGroup(group: string): Dict | undefined {
    const vs = this.groups.get(group);
    return vs ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, vs) } : undefined;
  }

  resourceList(group: string, version: string): Dict | undefined {
    const ts = this.types.filter((t) => t.group === group && t.version === version);
    if (ts.length === 0) {
      return undefined;
    }
    const resources: Dict[] = [];
    for (const t of ts) {
      const r: Dict = {
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: t.verbs,
      };
      if (t.shortNames?.length) {
        r.shortNames = t.shortNames;
      }
      if (t.categories?.length) {
        r.categories = t.categories;
      }
      if (!t.virtual) {
        r.storageVersionHash = storageHash(t);
      }
      resources.push(r);
      if (t.status) {
        resources.push({
          name: `${t.plural}/status`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
      if (t.scale && !t.crd) {
        resources.push({
          name: `${t.plural}/scale`,
          singularName: '',
          namespaced: t.namespaced,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: apiVersionOf({ group, version }),
      resources,
    };
  }

  private gvs(): { group: string; version: string; key: string }[] {
    const out = [{ group: '', version: 'v1', key: 'api/v1' }];
    for (const [g, vs] of this.groups) {
      for (const v of vs) {
        out.push({ group: g, version: v, key: `apis/${g}/${v}` });
      }
    }
    return out;
  }

  /** `/openapi/v3` root: one entry per served group-version. */
  openapiV3Root(): Dict {
    if (!this.openapiRoot) {
      const paths: Dict = {};
      for (const gv of this.gvs()) {
        const h = createHash('sha256')
          .update(JSON.stringify(this.openapiV3(gv.key) ?? {}))
          .digest('hex')
          .slice(0, 32)
          .toUpperCase();
        paths[gv.key] = { serverRelativeURL: `/openapi/v3/${gv.key}?hash=${h}` };
      }
      this.openapiRoot = { paths };
    }
    return this.openapiRoot;
  }

  /**
   * A minimal OpenAPI v3 document per group-version: enough for kubectl's fieldValidation probe
   * (patch operations carrying x-kubernetes-group-version-kind and the query parameters).
   */
  openapiV3(key: string): Dict | undefined {
    const cached = this.openapiDocs.get(key);
    if (cached) {
      return cached;
    }
    const gv = this.gvs().find((x) => x.key === key);
    if (!gv) {
      return undefined;
    }
    const prefix = gv.group ? `/apis/${gv.group}/${gv.version}` : '/api/v1';
    const q = (name: string): Dict => ({
      name,
      in: 'query',
      schema: { type: 'string', uniqueItems: true },
    });
    const paths: Dict = {};
    for (const t of this.types.filter((x) => x.group === gv.group && x.version === gv.version)) {
      const gvk = { group: t.group, version: t.version, kind: t.kind };
      const op = (action: string, params: string[]): Dict => ({
        operationId: `${action}${t.kind}`,
        parameters: params.map(q),
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': action,
        'x-kubernetes-group-version-kind': gvk,
      });
      const base = t.namespaced
        ? `${prefix}/namespaces/{namespace}/${t.plural}`
        : `${prefix}/${t.plural}`;
      if (t.virtual) {
        paths[base] = { post: op('post', ['dryRun', 'fieldManager', 'fieldValidation']) };
        continue;
      }
      paths[base] = {
        get: op('list', [
          'labelSelector',
          'fieldSelector',
          'limit',
          'continue',
          'resourceVersion',
          'watch',
        ]),
        post: op('post', ['dryRun', 'fieldManager', 'fieldValidation']),
        delete: op('deletecollection', ['dryRun', 'labelSelector', 'fieldSelector']),
      };
      paths[`${base}/{name}`] = {
        get: op('get', []),
        put: op('put', ['dryRun', 'fieldManager', 'fieldValidation']),
        patch: op('patch', ['dryRun', 'fieldManager', 'fieldValidation', 'force']),
        delete: op('delete', ['dryRun', 'gracePeriodSeconds', 'propagationPolicy']),
      };
      if (t.status) {
        paths[`${base}/{name}/status`] = {
          get: op('get', []),
          put: op('put', ['dryRun', 'fieldManager', 'fieldValidation']),
          patch: op('patch', ['dryRun', 'fieldManager', 'fieldValidation', 'force']),
        };
      }
    }
    const doc: Dict = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion },
      paths,
      components: { schemas: {} },
    };
    this.openapiDocs.set(key, doc);
    return doc;
  }
}
