import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const MAX_MESSAGE = 2_000;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-secret`;

/** A tenant Role that lets the service account do only `verbs` in a namespace. */
const role = (namespace: string, verbs: string[]): Record<string, unknown> => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'gitfleet-tenant', namespace },
  rules: [{ apiGroups: ['*'], resources: ['*'], verbs }],
});

describe('release reasons: a failed run names its real cause and what to do', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'reasons-a', labels: { env: 'reasons' } }],
    namespaces: ['apps', 'locked', 'shrink', 'noget'],
    // The platform team's own tenant role, left undefined in the clusters: only the
    // per-namespace Roles seeded below decide what the tenant may do.
    appEnv: { GITFLEET_TENANT_CLUSTER_ROLE: 'reasons-tenant' },
  });
  let repo: TestRepository;
  let identity: string;

  beforeAll(async () => {
    await fleet.start();
    identity = `system:serviceaccount:apps:${fleet.serviceAccountName}`;
    // The platform team gave the tenant only read access in "locked".
    fleet.cluster('reasons-a').seed(role('locked', ['get', 'list', 'watch']) as never);
    // ... and in "noget" the right to write but not to read one object back.
    fleet.cluster('reasons-a').seed(role('noget', ['create', 'patch', 'update', 'list']) as never);
    // A second cluster whose grant allows cluster-scoped objects, without RBAC for them.
    const wide = await fleet.prepareCluster('reasons-wide');
    expect(
      (
        await fleet.api('POST', '/clusters', {
          name: 'reasons-wide',
          kubeconfig: wide.kubeconfig(),
          labels: { env: 'wide' },
        })
      ).status,
    ).toBe(201);
    const grant = await fleet.api('POST', '/clusters/reasons-wide/grants', {
      tenant: fleet.tenant,
      namespaces: fleet.namespaces,
      serviceAccountName: fleet.serviceAccountName,
      clusterScopedKinds: [
        'rbac.authorization.k8s.io/ClusterRole',
        'apiextensions.k8s.io/CustomResourceDefinition',
      ],
    });
    expect(grant.status, grant.text).toBe(201);

    repo = await fleet.repos.createRepository('reasons');
    const locked: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      locked[`locked/cm-${String(i).padStart(2, '0')}.json`] = configMap(`locked-${i}`, {
        i: String(i),
      });
    }
    locked['locked/secret.json'] = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { password: CANARY },
    });
    await repo.commit({
      ...locked,
      'shrink/keep.json': configMap('keep', { a: '1' }),
      'shrink/gone.json': configMap('gone', { b: '2' }),
      'noget/web.json': deployment('web'),
      'crd/cm.json': configMap('with-cert', { a: '1' }),
      'crd/cert.json': JSON.stringify({
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'web-tls' },
        spec: { secretName: 'web-tls', dnsNames: ['web.example.com'] },
      }),
      'wide/clusterrole.json': JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'view-x' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
      }),
      // The API server refuses a CRD whose group has no dot.
      'wide-invalid/crd.json': JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.nodot' },
        spec: {
          group: 'nodot',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object' } },
            },
          ],
        },
      }),
      'jsonnet/main.jsonnet': "local lib = import 'lib.libsonnet';\n{ apiVersion: 'v1' }\n",
      'jsonnet/lib.libsonnet': '{}\n',
      'jsonnet/README.md': '# rendered by jsonnet\n',
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
    });
    await fleet.createGitSource('reasons', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;

  async function createRelease(name: string, extra: Record<string, unknown>): Promise<void> {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'reasons',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'reasons' } },
      timeoutSeconds: 10,
      retryIntervalSeconds: 5,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
  }

  async function readyOf(release: string, cluster: string, reason: string): Promise<any> {
    return fleet.eventually(`${release} on ${cluster} to end with ${reason}`, async () => {
      const res = await fleet.api('GET', tenantPath(`/releases/${release}/targets/${cluster}`));
      const ready = (res.body?.conditions as any[] | undefined)?.find((c) => c.type === 'Ready');
      return ready?.reason === reason ? ready : undefined;
    });
  }

  it('ends a run refused by RBAC with Forbidden, naming verb, resource, identity, and summarizing 41 objects without a Secret value', async () => {
    await createRelease('locked', { path: 'locked', targetNamespace: 'locked' });
    const ready = await readyOf('locked', 'reasons-a', 'Forbidden');
    expect(ready.status).toBe('False');
    const message: string = ready.message;
    expect(message).toMatch(
      /^41 of 41 objects failed: (ConfigMap|Secret)\/locked\/[a-z0-9-]+: forbidden: /,
    );
    expect(message).toContain(`${identity} may not patch (dry-run) configmaps in namespace locked`);
    expect(message).toMatch(/; and \d+ more; check the tenant's grant on cluster reasons-a: /);
    expect(message).toContain('RBAC');
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(message).not.toContain('…');
    expect(message).not.toMatch(/Bearer|BEGIN CERTIFICATE|token/i);
    expect(message).not.toContain(CANARY);
    // A plan of the same release plans the creates, without the Secret's value either.
    const diff = await fleet.api('GET', tenantPath('/releases/locked/diff'));
    expect(diff.status, diff.text).toBe(200);
    expect(diff.text).toContain('Secret/locked/creds');
    expect(diff.text).not.toContain(CANARY);
  });

  it('ends a prune refused by RBAC with Forbidden, naming the delete verb', async () => {
    await createRelease('shrink', { path: 'shrink', targetNamespace: 'shrink', prune: true });
    await readyOf('shrink', 'reasons-a', 'ReconciliationSucceeded');
    fleet.cluster('reasons-a').seed(role('shrink', ['get', 'list', 'watch', 'patch']) as never);
    await repo.commit({ 'shrink/gone.json': null });
    await fleet.api('POST', tenantPath('/sources/reasons/refresh'));
    await fleet.api('POST', tenantPath('/releases/shrink/reconcile'));
    const ready = await readyOf('shrink', 'reasons-a', 'Forbidden');
    expect(ready.message).toBe(
      `ConfigMap/shrink/gone: forbidden: ${identity} may not delete configmaps in namespace shrink; ` +
        "check the tenant's grant on cluster reasons-a: the service account it is impersonated as " +
        'needs RBAC for this (a Role and RoleBinding in the namespace, a ClusterRole and ' +
        'ClusterRoleBinding for cluster-scoped kinds)',
    );
    expect(fleet.cluster('reasons-a').getObject('v1', 'ConfigMap', 'gone', 'shrink')).toBeDefined();
  });

  it('ends a health wait refused by RBAC with Forbidden, naming the get verb', async () => {
    await createRelease('noget', { path: 'noget', targetNamespace: 'noget', wait: true });
    const ready = await readyOf('noget', 'reasons-a', 'Forbidden');
    expect(ready.message).toMatch(
      new RegExp(
        `^forbidden: ${identity} may not get deployments\\.apps; ` +
          "check the tenant's grant on cluster reasons-a: ",
      ),
    );
    expect(
      fleet.cluster('reasons-a').getObject('apps/v1', 'Deployment', 'web', 'noget'),
    ).toBeDefined();
    // A plan reads the live object first: the same refusal, said the same way.
    const diff = await fleet.api('GET', tenantPath('/releases/noget/diff'));
    expect(diff.status, diff.text).toBe(200);
    expect(diff.body.items).toEqual([
      expect.objectContaining({
        cluster: 'reasons-a',
        error: expect.stringMatching(
          new RegExp(
            `^forbidden: ${identity} may not get deployments\\.apps; ` +
              "check the tenant's grant on cluster reasons-a",
          ),
        ),
      }),
    ]);
  });

  it('says a kind without its CRD is MissingCustomResourceDefinition, naming group, version and kind', async () => {
    await createRelease('crd', { path: 'crd' });
    const ready = await readyOf('crd', 'reasons-a', 'MissingCustomResourceDefinition');
    expect(ready.message).toBe(
      '1 of 2 objects failed: Certificate.cert-manager.io/apps/web-tls: kind Certificate of ' +
        'cert-manager.io/v1 is not served by the cluster; install its CustomResourceDefinition ' +
        'first, or add dependsOn on the release that installs it',
    );
    expect(fleet.cluster('reasons-a').getObject('v1', 'ConfigMap', 'with-cert', 'apps')).toBe(
      undefined,
    );
  });

  it('prints a cluster-scoped object without a namespace, in policy and apply messages', async () => {
    // Refused by gitfleet's policy where the grant allows no cluster-scoped objects.
    await createRelease('wide-policy', { path: 'wide' });
    const policy = await readyOf('wide-policy', 'reasons-a', 'PolicyViolation');
    expect(policy.message).toBe(
      '1 policy violation(s): rbac.authorization.k8s.io/ClusterRole view-x: is cluster-scoped ' +
        'and kind "rbac.authorization.k8s.io/ClusterRole" is not in the grant\'s clusterScopedKinds',
    );
    // Refused by the cluster where the grant allows them (onboarding grants the RBAC).
    await createRelease('wide', {
      path: 'wide-invalid',
      clusterSelector: { matchLabels: { env: 'wide' } },
    });
    const invalid = await readyOf('wide', 'reasons-wide', 'ValidationFailed');
    expect(invalid.message).toMatch(
      /^CustomResourceDefinition\.apiextensions\.k8s\.io\/widgets\.nodot: .*spec\.group/,
    );
    for (const message of [policy.message, invalid.message] as string[]) {
      // Neither a namespace nor an empty one before the name.
      expect(message).not.toMatch(/(apps|default)\/|\s\/|\/\/|: \//);
    }
  });

  it('says Jsonnet is an unsupported format, not an empty render', async () => {
    await createRelease('jsonnet', { path: 'jsonnet' });
    const ready = await readyOf('jsonnet', 'reasons-a', 'UnsupportedFormat');
    expect(ready.message).toBe(
      'path "jsonnet" holds no YAML or JSON manifests, only Jsonnet (2 files), which gitfleet ' +
        'does not render; gitfleet renders plain YAML/JSON manifests, Kustomize (a ' +
        'kustomization.yaml) and Helm charts: commit the rendered YAML instead',
    );
  });

  it('says a Helm chart at a Kustomize path is an unsupported format', async () => {
    await createRelease('chart-as-kustomize', { path: 'chart', kind: 'kustomize' });
    const ready = await readyOf('chart-as-kustomize', 'reasons-a', 'UnsupportedFormat');
    expect(ready.message).toBe(
      'path "chart" holds a Helm chart (Chart.yaml) where a Kustomize path was expected; ' +
        'gitfleet renders plain YAML/JSON manifests, Kustomize (a kustomization.yaml) and Helm ' +
        "charts: set the release's helm.chart to this path to render it with Helm",
    );
  });
});
