import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomResourceController } from 'test/support/fleet/custom-resource-controller';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';

const CLUSTER = 'hw-a';

/** cert-manager's Certificate, trimmed: a status subresource whose observedGeneration defaults to -1. */
const certificateCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'certificates.cert-manager.io' },
  spec: {
    group: 'cert-manager.io',
    scope: 'Namespaced',
    names: {
      plural: 'certificates',
      singular: 'certificate',
      kind: 'Certificate',
      listKind: 'CertificateList',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: {
                type: 'object',
                default: {},
                properties: {
                  observedGeneration: { type: 'integer', default: -1 },
                  conditions: {
                    type: 'array',
                    items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** An Issuer CRD with a status subresource and no defaults: a new Issuer has no status at all. */
const issuerCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'issuers.cert-manager.io' },
  spec: {
    group: 'cert-manager.io',
    scope: 'Namespaced',
    names: { plural: 'issuers', singular: 'issuer', kind: 'Issuer', listKind: 'IssuerList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    ],
  },
};

const certificate = (name: string): string =>
  JSON.stringify({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name },
    spec: { secretName: `${name}-tls`, dnsNames: [`${name}.example.com`] },
  });

describe('health waits: Flux-style infrastructure, custom resources, CEL and reconcile-now', () => {
  const fleet = new FleetHarness({ clusters: [{ name: CLUSTER, labels: { env: 'hw' } }] });
  let repo: TestRepository;
  let controller: CustomResourceController;

  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;
  const condition = (target: any, type: string): any =>
    (target?.conditions as any[] | undefined)?.find((c) => c.type === type);
  const target = async (release: string): Promise<any> =>
    (await fleet.api('GET', tenantPath(`/releases/${release}/targets/${CLUSTER}`))).body;
  const history = async (release: string): Promise<any[]> =>
    (await fleet.api('GET', tenantPath(`/releases/${release}/targets/${CLUSTER}/history`))).body
      .items as any[];

  async function createRelease(name: string, extra: Record<string, unknown>): Promise<void> {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'infra',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'hw' } },
      timeoutSeconds: 120,
      retryIntervalSeconds: 5,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
  }

  async function endedWith(release: string, reason: string, timeoutMs = 60_000): Promise<any> {
    return fleet.eventually(
      `${release} to end with ${reason}`,
      async () => {
        const t = await target(release);
        return condition(t, 'Ready')?.reason === reason ? t : undefined;
      },
      timeoutMs,
    );
  }

  beforeAll(async () => {
    await fleet.start();
    // Cluster-scoped CRDs: the grant allows them and the cluster's RBAC lets the tenant apply them.
    const res = await fleet.api('PATCH', `/clusters/${CLUSTER}/grants/${fleet.tenant}`, {
      clusterScopedKinds: ['apiextensions.k8s.io/CustomResourceDefinition'],
    });
    expect(res.status, res.text).toBe(200);
    fleet.cluster(CLUSTER).seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'tenant-crds' },
        rules: [
          {
            apiGroups: ['apiextensions.k8s.io'],
            resources: ['customresourcedefinitions'],
            verbs: ['*'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'tenant-crds' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'tenant-crds',
        },
        subjects: [{ kind: 'ServiceAccount', name: fleet.serviceAccountName, namespace: 'apps' }],
      },
    );
    // The layout of a Flux infrastructure repository: CRDs apart from the objects that use them.
    repo = await fleet.repos.createRepository('infra');
    await repo.commit({
      'infrastructure/crds/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - certificates.json\n  - issuers.json\n',
      'infrastructure/crds/certificates.json': JSON.stringify(certificateCrd),
      'infrastructure/crds/issuers.json': JSON.stringify(issuerCrd),
      'apps/issuer/letsencrypt.json': JSON.stringify({
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: { name: 'letsencrypt' },
        spec: { acme: { server: 'https://acme.example/directory' } },
      }),
      'infrastructure/configs/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.json\n',
      'infrastructure/configs/web.json': certificate('web'),
      'apps/slow/api.json': certificate('api'),
      'apps/cel/bad.json': certificate('bad'),
    });
    await fleet.createGitSource('infra', repo);
    controller = new CustomResourceController(fleet.cluster(CLUSTER), {
      group: 'cert-manager.io',
      version: 'v1',
      plural: 'certificates',
    });
  });

  afterAll(async () => {
    controller?.stop();
    await fleet.stop();
  });

  it('reports a custom resource no controller observes promptly, and is Ready once one does', async () => {
    await createRelease('crds', { path: 'infrastructure/crds' });
    await fleet.waitForTargets('crds', (t) => t.ready === 'True', 1);
    const started = Date.now();
    await createRelease('configs', { path: 'infrastructure/configs', dependsOn: ['crds'] });

    const failed = await endedWith('configs', 'NotObserved');

    // Well before the 120 s timeout: the grace is 10 s.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(failed.ready).toBe('False');
    expect(failed.lastError).toContain(
      'Certificate/web has not been observed by a controller: status.observedGeneration -1 < generation 1; is its controller installed?',
    );

    controller.start();
    const ready = await endedWith('configs', 'ReconciliationSucceeded');
    expect(ready.ready).toBe('True');
    expect(controller.writes).toBeGreaterThan(0);
  });

  it('shows what a long wait waits for, and honours a reconcile asked for meanwhile', async () => {
    controller.start();
    let issued = false;
    controller.conditionsFor = (obj) =>
      obj.metadata.name === 'api' && !issued
        ? [{ type: 'Ready', status: 'False', reason: 'Issuing', message: 'Issuing certificate' }]
        : [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Ready',
              message: 'Certificate is up to date',
            },
          ];
    await createRelease('slow', { path: 'apps/slow' });

    const waiting = await fleet.eventually('the wait to show Progressing', async () => {
      const t = await target('slow');
      return condition(t, 'Ready')?.reason === 'Progressing' ? t : undefined;
    });
    expect(waiting.ready).toBe('Unknown');
    expect(condition(waiting, 'Ready').message).toMatch(
      /^Running health checks for revision .+ with a timeout of 120s; waiting for: Certificate\.cert-manager\.io\/apps\/api \(InProgress: .+\)$/,
    );
    expect(condition(waiting, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Progressing',
    });

    const asked = await fleet.api(
      'POST',
      tenantPath(`/releases/slow/targets/${CLUSTER}/reconcile`),
    );
    expect(asked.status, asked.text).toBe(202);
    expect(await history('slow')).toEqual([]); // still inside the first run's wait
    issued = true;

    // The first run ends Ready, then the requested one runs at once rather than at the interval.
    const runs = await fleet.eventually(
      'the requested reconcile to run after the wait',
      async () => {
        const items = await history('slow');
        return items.length >= 2 ? items : undefined;
      },
    );
    expect(runs.map((r) => r.reason)).toEqual([
      'ReconciliationSucceeded',
      'ReconciliationSucceeded',
    ]);
  });

  it('refuses a healthCheckExprs expression that does not compile, naming it and the error', async () => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'badcel',
      source: 'infra',
      path: 'apps/cel',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'hw' } },
      healthCheckExprs: [
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          current: "status.conditions.exists(c, c.type == 'Ready'",
        },
      ],
    });
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain(
      `healthCheckExprs.0.current: CEL expression \\"status.conditions.exists(c, c.type == 'Ready'\\" does not compile: Expected RPAREN, got EOF`,
    );
    expect((await fleet.api('GET', tenantPath('/releases/badcel'))).status).toBe(404);
  });

  it('fails at once with the expression when a healthCheckExprs failed expression is true', async () => {
    controller.start();
    controller.conditionsFor = (obj) =>
      obj.metadata.name === 'bad'
        ? [
            { type: 'Ready', status: 'False', reason: 'Failed', message: 'issuer not found' },
            { type: 'Issuing', status: 'False', reason: 'Failed', message: 'issuer not found' },
          ]
        : [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Ready',
              message: 'Certificate is up to date',
            },
          ];
    const failedExpr = "status.conditions.exists(c, c.type == 'Issuing' && c.status == 'False')";
    const started = Date.now();
    await createRelease('cel', {
      path: 'apps/cel',
      healthCheckExprs: [
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
          failed: failedExpr,
        },
      ],
    });

    const failed = await endedWith('cel', 'HealthCheckFailed');

    // kstatus alone would wait the whole timeout (Ready=False is InProgress to it).
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(failed.lastError).toBe(
      `unhealthy: Certificate.cert-manager.io/apps/bad: Failed (healthCheckExprs failed "${failedExpr}" is true)`,
    );
  });

  it('reports a custom resource that never gets a status although its CRD has a status subresource', async () => {
    // The test controller plays the Certificate controller only: no one writes Issuer status.
    await createRelease('issuer', { path: 'apps/issuer', dependsOn: ['crds'] });

    const failed = await endedWith('issuer', 'NotObserved');

    expect(failed.lastError).toMatch(
      /^unhealthy: Issuer\/letsencrypt has not been observed by a controller: no status after \d+s although its CRD has a status subresource; is its controller installed\?$/,
    );
  });
});
