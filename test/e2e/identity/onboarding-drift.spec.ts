import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { TestClock } from 'test/support/coordination/test-clock';
import type { GrantIndexRepository } from 'src/modules/identity/onboarding/grant-index.repository';
import { GrantOnboardingService } from 'src/modules/identity/onboarding/grant-onboarding.service';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import type { Grant } from 'src/tenants/grants/grant.types';
import type { GrantsService } from 'src/tenants/grants/grants.service';
import type { TenantsService } from 'src/tenants/tenants.service';
import { KubeSim, type SimCluster } from 'test/support/kube-sim/index';

const RBAC = 'rbac.authorization.k8s.io/v1';
const TENANT = 'team-d';
const BINDING = `gitfleet-${TENANT}`;
const WRITES = ['PATCH', 'POST', 'PUT', 'DELETE'];

const grant: Grant = {
  id: 'g1',
  tenantId: 't1',
  tenantName: TENANT,
  clusterId: 'c1',
  clusterName: 'drift-1',
  namespaces: ['apps-d', 'jobs-d'],
  serviceAccountName: `gitfleet-${TENANT}`,
  clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

/**
 * Onboarding against the Kubernetes API test server, counting the requests:
 * the periodic resync must not write when nothing drifted (a no-op SSA is
 * still a write), and must repair exactly what did.
 */
describe('onboarding resync reads first and writes only what drifted', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let api: KubeApiClient;
  let sut: GrantOnboardingService;

  const writes = () =>
    cluster.requestLog.filter((e) => WRITES.includes(e.method)).map((e) => `${e.method} ${e.path}`);

  beforeAll(async () => {
    sim = await KubeSim.start();
    cluster = await sim.addCluster({ name: 'drift-1' });
    // A granted namespace that already exists, without our labels.
    cluster.seed({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'jobs-d', labels: { team: 'd' } },
    });
    api = new KubeApiClient({
      server: cluster.url,
      caData: cluster.ca.certPem,
      token: cluster.adminToken,
    });
    sut = new GrantOnboardingService(
      loadConfig({ RECONCILE_ENABLED: 'false' }),
      { grantFor: () => Promise.resolve(grant) } as unknown as GrantsService,
      () => Promise.resolve(api),
      { allKeys: () => Promise.resolve([grant]) } as unknown as GrantIndexRepository,
      {
        getById: () => Promise.resolve({ name: TENANT, deletionRequestedAt: null }),
      } as unknown as TenantsService,
      new DomainEventBus(),
      new PeriodicJobs(
        {
          tryAcquire: (name: string, holder: string) => Promise.resolve({ name, holder }),
        } as unknown as LeaseRepository,
        new TestClock(),
        'replica-a',
      ),
    );
    await sut.sync(grant);
  });

  afterAll(async () => {
    await sut?.onModuleDestroy();
    api?.close();
    await sim?.stop();
  });

  it('onboards, adopting the pre-existing namespace', () => {
    expect(cluster.getObject('v1', 'Namespace', 'jobs-d')?.metadata.labels).toMatchObject({
      team: 'd',
      'gitfleet.dev/onboarded-tenant': TENANT,
    });
    expect(cluster.getObject('v1', 'ServiceAccount', BINDING, 'apps-d')).toBeDefined();
    for (const ns of grant.namespaces) {
      expect(cluster.getObject(RBAC, 'RoleBinding', BINDING, ns)).toBeDefined();
    }
    expect(cluster.getObject(RBAC, 'ClusterRole', `${BINDING}-cluster-scoped`)).toBeDefined();
    expect(
      cluster.getObject(RBAC, 'ClusterRoleBinding', `${BINDING}-cluster-scoped`),
    ).toBeDefined();
  });

  it('makes no write on a resync of an unchanged grant: one LIST per kind', async () => {
    cluster.resetCounters();
    await sut.sync(grant);
    await sut.resyncAll();
    expect(writes()).toEqual([]);
    expect(cluster.counters().byVerb).toEqual({ list: 10 });
  });

  it('repairs exactly the RoleBinding whose subjects were edited and the namespace whose label was stripped', async () => {
    const rb = cluster.getObject(RBAC, 'RoleBinding', BINDING, 'jobs-d') as KubeObject;
    cluster.seed({
      ...rb,
      subjects: [{ kind: 'ServiceAccount', name: 'intruder', namespace: 'jobs-d' }],
    });
    const ns = cluster.getObject('v1', 'Namespace', 'apps-d') as KubeObject;
    const { 'gitfleet.dev/onboarded-tenant': _stripped, ...labels } = ns.metadata.labels ?? {};
    cluster.seed({ ...ns, metadata: { ...ns.metadata, labels } });
    cluster.resetCounters();

    await sut.sync(grant);
    expect(writes().sort()).toEqual([
      'PATCH /api/v1/namespaces/apps-d',
      `PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/jobs-d/rolebindings/${BINDING}`,
    ]);
    expect(cluster.getObject(RBAC, 'RoleBinding', BINDING, 'jobs-d')?.subjects).toEqual([
      { kind: 'ServiceAccount', name: BINDING, namespace: 'apps-d' },
    ]);
    expect(
      cluster.getObject('v1', 'Namespace', 'apps-d')?.metadata.labels?.[
        'gitfleet.dev/onboarded-tenant'
      ],
    ).toBe(TENANT);

    cluster.resetCounters();
    await sut.sync(grant);
    expect(writes()).toEqual([]);
  });

  it('repairs a binding whose roleRef changed, and removes an onboarding object no longer wanted', async () => {
    const rb = cluster.getObject(RBAC, 'RoleBinding', BINDING, 'apps-d') as KubeObject;
    const roleRef = rb.roleRef;
    cluster.seed({
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: BINDING, namespace: 'apps-d', labels: rb.metadata.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: rb.subjects,
    });
    const stale: KubeObject = {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: BINDING, namespace: 'old-d', labels: rb.metadata.labels },
      roleRef: rb.roleRef,
      subjects: rb.subjects,
    };
    cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old-d' } }, stale);
    cluster.resetCounters();

    await sut.sync(grant);
    const path = (ns: string) =>
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${BINDING}`;
    // kube-sim lets a roleRef change through, where a real API server answers 422
    // and onboarding deletes and recreates (covered by the unit spec): allow both.
    const recreate = `DELETE ${path('apps-d')}`;
    expect(new Set(writes().filter((w) => w !== recreate))).toEqual(
      new Set([`PATCH ${path('apps-d')}`, `DELETE ${path('old-d')}`]),
    );
    expect(cluster.getObject(RBAC, 'RoleBinding', BINDING, 'apps-d')?.roleRef).toEqual(roleRef);
    expect(cluster.getObject(RBAC, 'RoleBinding', BINDING, 'old-d')).toBeUndefined();
  });
});
