import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { TestClock } from 'test/support/coordination/test-clock';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { refKey, refOf } from 'src/modules/reconciler/kube/kube-objects';
import { KubeError } from 'src/common/kube/kube.errors';
import type { KubeObject, ObjectRef } from 'src/modules/reconciler/kube/kube.types';
import type { Grant } from 'src/tenants/grants/grant.types';
import { type GrantChange, GrantChanged } from 'src/tenants/grants/grants.events';
import type { GrantsService } from 'src/tenants/grants/grants.service';
import type { TenantsService } from 'src/tenants/tenants.service';
import type { GrantIndexRepository } from './grant-index.repository';
import { GrantOnboardingService } from './grant-onboarding.service';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { GrantOnboarded } from 'src/modules/identity/identity.events';
import { TenantAccessRefused } from 'src/modules/reconciler/reconciler.events';

/**
 * An in-memory cluster: apply stores (refusing a binding's changed roleRef, as
 * the API server does), list filters by label selector, delete removes.
 */
class FakeKube {
  readonly objects = new Map<string, KubeObject>();
  /** Writes, in order. */
  readonly calls: string[] = [];
  readonly lists: string[] = [];
  failNext = false;

  api(): KubeApi {
    return {
      apply: (obj: KubeObject) => {
        this.calls.push(`apply ${obj.kind} ${obj.metadata.name}`);
        if (this.failNext) {
          this.failNext = false;
          return Promise.reject(new Error('cluster unreachable'));
        }
        const existing = this.objects.get(refKey(refOf(obj)));
        if (
          existing !== undefined &&
          JSON.stringify(existing.roleRef) !== JSON.stringify(obj.roleRef)
        ) {
          return Promise.reject(
            new KubeError('Invalid', 'roleRef: Invalid value: cannot change roleRef'),
          );
        }
        const stored = { ...obj, metadata: { ...obj.metadata, uid: `uid-${obj.metadata.name}` } };
        this.objects.set(refKey(refOf(obj)), stored);
        return Promise.resolve(stored);
      },
      list: (
        _apiVersion: string,
        kind: string,
        _ns: string | undefined,
        opts?: { labelSelector?: string },
      ) => {
        this.lists.push(kind);
        const wanted = (opts?.labelSelector ?? '').split(',').map((kv) => kv.split('='));
        return Promise.resolve(
          [...this.objects.values()].filter(
            (o) => o.kind === kind && wanted.every(([k, v]) => o.metadata.labels?.[k] === v),
          ),
        );
      },
      delete: (ref: ObjectRef) => {
        this.calls.push(`delete ${ref.kind} ${ref.name}`);
        return Promise.resolve(this.objects.delete(refKey(ref)));
      },
    } as unknown as KubeApi;
  }

  /** Replaces a stored object, as someone editing the cluster would. */
  edit(
    kind: string,
    name: string,
    namespace: string | undefined,
    change: Partial<KubeObject>,
  ): void {
    const found = [...this.objects.entries()].find(
      ([, o]) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace,
    );
    if (found === undefined) {
      throw new Error(`no ${kind} ${name}`);
    }
    this.objects.set(found[0], { ...found[1], ...change });
  }

  names(kind: string): string[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind)
      .map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`)
      .sort();
  }
}

const grantOf = (over: Partial<Grant> = {}): Grant => ({
  id: 'g1',
  tenantId: 't1',
  tenantName: 'team-a',
  clusterId: 'c1',
  clusterName: 'prod',
  namespaces: ['apps', 'jobs'],
  serviceAccountName: 'gitfleet-team-a',
  clusterScopedKinds: [],
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

function setup() {
  const kube = new FakeKube();
  let stored: Grant | undefined = grantOf();
  const bus = new DomainEventBus();
  let deletionRequestedAt: Date | null = null;
  const grantFor = vi.fn(() => Promise.resolve(stored));
  const grants = {
    grantFor,
    tenantIdsOnCluster: () => Promise.resolve(stored === undefined ? [] : ['t1']),
  } as unknown as GrantsService;
  const index = {
    allKeys: () =>
      Promise.resolve(stored === undefined ? [] : [{ tenantId: 't1', clusterId: 'c1' }]),
  } as unknown as GrantIndexRepository;
  const tenants = {
    getById: () => Promise.resolve({ name: 'team-a', deletionRequestedAt }),
  } as unknown as TenantsService;
  let leaseHolder: string | undefined;
  const leases = {
    tryAcquire: (name: string, holder: string) => {
      leaseHolder ??= holder;
      return Promise.resolve(leaseHolder === holder ? { name, holder } : undefined);
    },
  } as unknown as LeaseRepository;
  const sut = new GrantOnboardingService(
    loadConfig({ RECONCILE_ENABLED: 'false' }),
    grants,
    () => Promise.resolve(kube.api()),
    index,
    tenants,
    bus,
    new PeriodicJobs(leases, new TestClock(), 'replica-a'),
  );
  sut.onModuleInit();
  const onboarded: GrantOnboarded[] = [];
  bus.subscribe(GrantOnboarded, (e) => {
    onboarded.push(e);
  });
  return {
    sut,
    kube,
    bus,
    onboarded,
    grantFor,
    store: (g: Grant | undefined) => (stored = g),
    deleteTenant: () => (deletionRequestedAt = new Date()),
    emit: (g: Grant, change: GrantChange) => bus.publish(new GrantChanged(change, g)),
    /** Resolves once published events reached the service (its runs started). */
    delivered: () => bus.idle(),
    takeLease: () => (leaseHolder = 'other-replica'),
  };
}

describe('GrantOnboardingService', () => {
  it('re-onboards at once a cluster whose kubeconfig was replaced or that answers again, and says what it restored', async () => {
    const { sut, kube, bus, onboarded, delivered } = setup();
    bus.publish(new ClusterChanged('c1', 'prod', 'endpoint'));
    await vi.waitFor(async () => {
      await delivered();
      expect(onboarded).toHaveLength(1);
    });
    expect(kube.names('RoleBinding')).toEqual(['apps/gitfleet-team-a', 'jobs/gitfleet-team-a']);
    expect(onboarded[0]).toMatchObject({ tenantId: 't1', clusterId: 'c1', applied: 5 });

    // The cluster comes back rebuilt empty.
    kube.objects.clear();
    bus.publish(new ClusterChanged('c1', 'prod', 'reachable'));
    await vi.waitFor(async () => {
      await delivered();
      expect(onboarded).toHaveLength(2);
    });
    expect(kube.names('ServiceAccount')).toEqual(['apps/gitfleet-team-a']);
    await sut.onModuleDestroy();
  });

  it('checks a grant whose target was refused, and announces nothing when all is in place', async () => {
    const { sut, kube, bus, onboarded, delivered } = setup();
    await sut.sync(grantOf());
    await delivered();
    onboarded.length = 0;
    kube.lists.length = 0;
    kube.calls.length = 0;
    bus.publish(new TenantAccessRefused('t1', 'c1'));
    await delivered();
    await vi.waitFor(() => expect(kube.lists).toContain('ServiceAccount'));
    await sut.onModuleDestroy();
    expect(kube.lists.filter((k) => k === 'Namespace')).toHaveLength(1);
    expect(kube.calls).toEqual([]);
    expect(onboarded).toEqual([]);
  });

  it('onboards on a grant change, to the grant as stored now', async () => {
    const { sut, kube, store } = setup();
    // The listener saw an older version; the stored grant has one namespace more.
    store(grantOf({ namespaces: ['apps', 'jobs', 'batch'] }));
    await sut.sync(grantOf());
    expect(kube.names('RoleBinding')).toEqual([
      'apps/gitfleet-team-a',
      'batch/gitfleet-team-a',
      'jobs/gitfleet-team-a',
    ]);
    expect(kube.names('ServiceAccount')).toEqual(['apps/gitfleet-team-a']);
    await sut.onModuleDestroy();
  });

  it('removes bindings of namespaces no longer granted, and cluster-scoped rights once disallowed', async () => {
    const { sut, kube, store } = setup();
    store(grantOf({ clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'] }));
    await sut.sync(grantOf());
    expect(kube.names('ClusterRoleBinding')).toEqual(['/gitfleet-team-a-cluster-scoped']);
    store(grantOf({ namespaces: ['apps'], clusterScopedKinds: [] }));
    await sut.sync(grantOf());
    expect(kube.names('RoleBinding')).toEqual(['apps/gitfleet-team-a']);
    expect(kube.names('ClusterRoleBinding')).toEqual([]);
    expect(kube.names('ClusterRole')).toEqual([]);
    // Namespaces are never deleted.
    expect(kube.names('Namespace')).toEqual(['/apps', '/jobs']);
    await sut.onModuleDestroy();
  });

  it('offboards a revoked grant: bindings and service account go, namespaces stay', async () => {
    const { sut, kube, store } = setup();
    await sut.sync(grantOf());
    store(undefined);
    await sut.sync(grantOf());
    expect(kube.names('RoleBinding')).toEqual([]);
    expect(kube.names('ServiceAccount')).toEqual([]);
    expect(kube.names('Namespace')).toEqual(['/apps', '/jobs']);
    await sut.onModuleDestroy();
  });

  it('never deletes objects of another tenant or not managed by gitfleet', async () => {
    const { sut, kube, store } = setup();
    const foreign = (labels: Record<string, string>): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `x-${Object.values(labels).join('-')}`, namespace: 'apps', labels },
    });
    for (const o of [
      foreign({
        'app.kubernetes.io/managed-by': 'gitfleet',
        'gitfleet.dev/onboarded-tenant': 'team-b',
      }),
      foreign({ 'gitfleet.dev/onboarded-tenant': 'team-a' }),
    ]) {
      kube.objects.set(refKey(refOf(o)), o);
    }
    store(undefined);
    await sut.sync(grantOf());
    expect(kube.names('RoleBinding')).toEqual(['apps/x-gitfleet-team-b', 'apps/x-team-a']);
    await sut.onModuleDestroy();
  });

  it('serializes runs per grant and survives a failing cluster (the periodic pass repairs)', async () => {
    const { sut, kube, emit, delivered } = setup();
    kube.failNext = true;
    emit(grantOf(), 'created');
    emit(grantOf(), 'changed');
    await delivered();
    await sut.sync(grantOf());
    expect(kube.names('RoleBinding')).toHaveLength(2);
    kube.objects.clear();
    await sut.resyncAll();
    expect(kube.names('RoleBinding')).toHaveLength(2);
    await sut.onModuleDestroy();
  });

  it('reads each grant once per resync pass', async () => {
    const { sut, kube, grantFor } = setup();
    await sut.resyncAll();
    expect(grantFor).toHaveBeenCalledOnce();
    expect(kube.names('RoleBinding')).toHaveLength(2);
    grantFor.mockClear();
    await sut.resyncAll();
    expect(grantFor).toHaveBeenCalledOnce();
    await sut.onModuleDestroy();
  });

  it('runs the periodic resync only on the replica holding its lease', async () => {
    const { sut, kube, takeLease } = setup();
    takeLease();
    await sut.resyncUnderLease();
    expect(kube.lists).toEqual([]);
    expect(kube.names('RoleBinding')).toEqual([]);
    await sut.onModuleDestroy();

    const leader = setup();
    await leader.sut.resyncUnderLease();
    expect(leader.kube.names('RoleBinding')).toHaveLength(2);
    await leader.sut.onModuleDestroy();
  });

  it('leaves the grants of a tenant being deleted alone until the deletion offboards them', async () => {
    const { sut, kube, store, deleteTenant } = setup();
    await sut.sync(grantOf());
    deleteTenant();
    store(grantOf({ namespaces: ['apps', 'jobs', 'batch'] }));
    kube.calls.length = 0;
    await sut.sync(grantOf());
    await sut.resyncAll();
    expect(kube.calls).toEqual([]);

    await sut.offboard(grantOf());
    expect(kube.names('RoleBinding')).toEqual([]);
    expect(kube.names('ServiceAccount')).toEqual([]);
    expect(kube.names('Namespace')).toEqual(['/apps', '/jobs']);
    await sut.onModuleDestroy();
  });

  it('rejects an offboarding the cluster refused, so the caller keeps the grant', async () => {
    const { sut, kube } = setup();
    await sut.sync(grantOf());
    const api = kube.api();
    kube.api = () => ({ ...api, list: () => Promise.reject(new Error('connection refused')) });
    await expect(sut.offboard(grantOf())).rejects.toThrow('connection refused');
    expect(kube.names('RoleBinding')).toHaveLength(2);
    // The grant's chain survives the failure: the next run goes ahead.
    kube.api = () => api;
    await sut.offboard(grantOf());
    expect(kube.names('RoleBinding')).toEqual([]);
    await sut.onModuleDestroy();
  });
  it('reads instead of writing when nothing drifted: one LIST per kind, no apply', async () => {
    const { sut, kube, store } = setup();
    store(grantOf({ clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'] }));
    await sut.sync(grantOf());
    kube.calls.length = 0;
    kube.lists.length = 0;
    kube.calls.length = 0;
    await sut.sync(grantOf());
    await sut.resyncAll();
    expect(kube.calls).toEqual([]);
    expect(kube.lists.sort()).toEqual(
      [
        ...['Namespace', 'RoleBinding', 'ClusterRoleBinding', 'ClusterRole', 'ServiceAccount'],
        ...['Namespace', 'RoleBinding', 'ClusterRoleBinding', 'ClusterRole', 'ServiceAccount'],
      ].sort(),
    );
    await sut.onModuleDestroy();
  });

  it('repairs exactly the objects that drifted or lost our labels', async () => {
    const { sut, kube } = setup();
    await sut.sync(grantOf());
    kube.calls.length = 0;
    kube.edit('RoleBinding', 'gitfleet-team-a', 'jobs', {
      subjects: [{ kind: 'ServiceAccount', name: 'intruder', namespace: 'jobs' }],
    });
    kube.edit('Namespace', 'apps', undefined, { metadata: { name: 'apps', labels: {} } });
    await sut.sync(grantOf());
    expect(kube.calls).toEqual(['apply Namespace apps', 'apply RoleBinding gitfleet-team-a']);
    expect(
      kube.objects.get('rbac.authorization.k8s.io/RoleBinding/jobs/gitfleet-team-a')?.subjects,
    ).toEqual([{ kind: 'ServiceAccount', name: 'gitfleet-team-a', namespace: 'apps' }]);
    kube.calls.length = 0;
    await sut.sync(grantOf());
    expect(kube.calls).toEqual([]);
    await sut.onModuleDestroy();
  });

  it('adopts a pre-existing namespace that lacks our labels', async () => {
    const { sut, kube } = setup();
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'jobs' } };
    kube.objects.set(refKey(refOf(ns)), ns);
    await sut.sync(grantOf());
    expect(kube.calls.filter((c) => c.startsWith('apply Namespace'))).toEqual([
      'apply Namespace apps',
      'apply Namespace jobs',
    ]);
    expect(kube.objects.get('/Namespace//jobs')?.metadata.labels).toMatchObject({
      'gitfleet.dev/onboarded-tenant': 'team-a',
    });
    await sut.onModuleDestroy();
  });

  it('recreates a binding whose roleRef changed (immutable in the cluster)', async () => {
    const { sut, kube } = setup();
    await sut.sync(grantOf());
    kube.edit('RoleBinding', 'gitfleet-team-a', 'apps', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'old-role' },
    });
    kube.calls.length = 0;
    await sut.sync(grantOf());
    expect(kube.calls).toEqual([
      'apply RoleBinding gitfleet-team-a',
      'delete RoleBinding gitfleet-team-a',
      'apply RoleBinding gitfleet-team-a',
    ]);
    expect(
      (
        kube.objects.get('rbac.authorization.k8s.io/RoleBinding/apps/gitfleet-team-a')?.roleRef as {
          name: string;
        }
      ).name,
    ).not.toBe('old-role');
    await sut.onModuleDestroy();
  });
});
