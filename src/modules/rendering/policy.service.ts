import { Injectable } from '@nestjs/common';
import {
  BUILT_IN_CLUSTER_SCOPED,
  groupKind,
  groupOf,
  scopesFromCrds,
  sortForApply,
  type ResourceScope,
} from './kube-kinds';
import {
  PolicyViolationError,
  RenderingError,
  RenderingErrorCode,
  type PolicyViolationDetail,
} from './rendering.errors';
import type { KubeObject } from './rendering.types';
import { DNS_LABEL_PATTERN as DNS_LABEL } from 'src/common/validation/names';

export const TENANT_LABEL = 'gitfleet.dev/tenant';
export const RELEASE_LABEL = 'gitfleet.dev/release';
const MAX_REPORTED_VIOLATIONS = 20;
/** A prefix the API server can complete into a DNS subdomain (it appends 5 characters). */
const GENERATE_NAME = /^[a-z0-9][-a-z0-9.]{0,252}$/;

/** What a Tenant's Grant allows on one cluster. */
export interface PolicyGrant {
  /** Namespaces the tenant may deploy into (exact names). */
  readonly namespaces: readonly string[];
  /**
   * Cluster-scoped kinds allowed, as `group/Kind` (`Kind` for the core group),
   * e.g. `rbac.authorization.k8s.io/ClusterRole`. Namespaces are not listed here:
   * a granted namespace's own Namespace object is always allowed.
   */
  readonly clusterScopedKinds: readonly string[];
  /** Namespace given to namespaced objects that have none. */
  readonly targetNamespace: string;
}

/** Who owns the objects: written as ownership labels on every object. */
export interface PolicyOwner {
  readonly tenant: string;
  readonly release: string;
}

/**
 * Scope of a kind not in the built-in table and not defined by a CRD in the
 * same set — typically from the cluster's discovery. `undefined` means unknown,
 * which is treated as namespaced.
 */
export type ScopeResolver = (group: string, kind: string) => ResourceScope | undefined;

export interface PolicyCheckOptions {
  readonly owner: PolicyOwner;
  readonly resolveScope?: ScopeResolver;
}

export interface PolicyResult {
  /** Copies of the objects, namespace-defaulted, labelled, in apply order. */
  readonly objects: KubeObject[];
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** True when `value` is a valid Kubernetes label value. */
export function isValidLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The policy every rendered set passes before any apply. All or nothing: any
 * violation fails the whole set with one error listing the first 20.
 *
 * Decisions:
 * - a `Namespace` object whose name is one of the granted namespaces is
 *   allowed (tenants often ship their own Namespace manifest; gitfleet applies
 *   it with its own identity); any other Namespace is refused;
 * - any other cluster-scoped kind is allowed only when the grant lists it in
 *   `clusterScopedKinds` (`group/Kind`);
 * - `metadata.namespace` on a cluster-scoped object is removed (the API
 *   server ignores it; kustomize's namespace transformer adds it to unknown kinds);
 * - unknown kinds are namespaced unless a CRD in the set or `resolveScope` says otherwise;
 * - ownership labels overwrite any values the manifests carry.
 */
@Injectable()
export class PolicyService {
  check(
    objects: readonly KubeObject[],
    grant: PolicyGrant,
    options: PolicyCheckOptions,
  ): PolicyResult {
    const { tenant, release } = options.owner;
    if (
      !isValidLabelValue(tenant) ||
      tenant === '' ||
      !isValidLabelValue(release) ||
      release === ''
    ) {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        'tenant and release names must be valid label values',
      );
    }
    if (!DNS_LABEL.test(grant.targetNamespace)) {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        'target namespace must be a DNS label',
      );
    }
    const granted = new Set(grant.namespaces);
    const allowedKinds = new Set(grant.clusterScopedKinds);
    const crdScopes = scopesFromCrds(objects);
    const scopeOf = (group: string, kind: string): ResourceScope => {
      const key = groupKind(group, kind);
      if (BUILT_IN_CLUSTER_SCOPED.has(key)) {
        return 'Cluster';
      }
      return crdScopes.get(key) ?? options.resolveScope?.(group, kind) ?? 'Namespaced';
    };

    const violations: PolicyViolationDetail[] = [];
    let total = 0;
    const refuse = (object: string, message: string): void => {
      total += 1;
      if (violations.length < MAX_REPORTED_VIOLATIONS) {
        violations.push({ object, message });
      }
    };
    const seen = new Map<string, number>();
    const out: KubeObject[] = [];

    objects.forEach((raw, index) => {
      const label = `object #${index + 1}`;
      if (!isRecord(raw)) {
        refuse(label, 'is not an object');
        return;
      }
      const { apiVersion, kind } = raw;
      if (typeof apiVersion !== 'string' || apiVersion === '') {
        refuse(label, 'has no apiVersion');
        return;
      }
      if (typeof kind !== 'string' || kind === '') {
        refuse(label, 'has no kind');
        return;
      }
      if (!isRecord(raw.metadata)) {
        refuse(`${kind} (${label})`, 'has no metadata');
        return;
      }
      const named = raw.metadata.name;
      const generateName = raw.metadata.generateName;
      // `generateName` without a name: the API server names it on create (POST); the
      // reconciler creates such objects once per applied revision (hooks and the like).
      const generated =
        (typeof named !== 'string' || named === '') &&
        typeof generateName === 'string' &&
        generateName !== '';
      if (!generated && (typeof named !== 'string' || named === '')) {
        refuse(`${kind} (${label})`, 'has no metadata.name (nor metadata.generateName)');
        return;
      }
      if (generated && !GENERATE_NAME.test(generateName)) {
        refuse(`${kind} (${label})`, 'has an invalid metadata.generateName');
        return;
      }
      const name = generated ? `${generateName}*` : (named as string);
      const group = groupOf(apiVersion);
      const scope = scopeOf(group, kind);
      const metadata = { ...raw.metadata };
      const object: KubeObject = { ...raw, metadata };
      const id = (ns: string | undefined): string =>
        `${group === '' ? '' : `${group}/`}${kind} ${ns === undefined ? '' : `${ns}/`}${name}`;

      if (
        !generated &&
        (name.length > 253 || !/^[^/%]+$/.test(name) || name === '.' || name === '..')
      ) {
        refuse(id(undefined), 'has an invalid metadata.name');
        return;
      }
      if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
        refuse(id(undefined), 'has a non-string metadata.namespace');
        return;
      }
      let namespace: string | undefined;
      if (scope === 'Cluster') {
        delete metadata.namespace;
        const kindName = group === '' ? kind : `${group}/${kind}`;
        if (group === '' && kind === 'Namespace') {
          if (!granted.has(name)) {
            refuse(
              id(undefined),
              `namespace "${name}" is not granted to the tenant on this cluster (the grant's namespaces are ${[...granted].map((n) => `"${n}"`).join(', ')})`,
            );
          }
        } else if (!allowedKinds.has(kindName)) {
          refuse(
            id(undefined),
            `is cluster-scoped and kind "${kindName}" is not in the grant's clusterScopedKinds`,
          );
        }
      } else {
        namespace =
          metadata.namespace === undefined || metadata.namespace === ''
            ? grant.targetNamespace
            : metadata.namespace;
        metadata.namespace = namespace;
        if (!DNS_LABEL.test(namespace)) {
          refuse(id(namespace), 'has an invalid namespace');
        } else if (!granted.has(namespace)) {
          refuse(id(namespace), `namespace "${namespace}" is not granted to the tenant`);
        }
      }
      if (metadata.labels !== undefined && !isRecord(metadata.labels)) {
        refuse(id(namespace), 'has non-map metadata.labels');
        return;
      }
      metadata.labels = { ...metadata.labels, [TENANT_LABEL]: tenant, [RELEASE_LABEL]: release };

      const key = `${group}/${kind}/${namespace ?? ''}/${name}`;
      // Two objects of one generateName are two objects; only fixed names can collide.
      const first = generated ? undefined : seen.get(key);
      if (first !== undefined) {
        refuse(id(namespace), `is a duplicate of object #${first + 1}`);
      } else {
        seen.set(key, index);
      }
      if (group === '' && kind === 'Namespace' && !DNS_LABEL.test(name)) {
        refuse(id(undefined), 'metadata.name must be a DNS label');
      }
      out.push(object);
    });

    if (total > 0) {
      throw new PolicyViolationError(violations, total);
    }
    return { objects: sortForApply(out) };
  }
}
