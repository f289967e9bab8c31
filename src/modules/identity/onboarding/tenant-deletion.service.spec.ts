import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { TestClock } from 'test/support/coordination/test-clock';
import type { ReleasesService } from 'src/modules/releases/releases.service';
import type { SourcesService } from 'src/modules/sources/sources.service';
import type { Grant } from 'src/tenants/grants/grant.types';
import type { GrantsService } from 'src/tenants/grants/grants.service';
import type { Tenant } from 'src/tenants/tenant.types';
import { TenantError } from 'src/tenants/tenants.errors';
import type { TenantsService } from 'src/tenants/tenants.service';
import type { GrantOnboardingService } from './grant-onboarding.service';
import { SHUTDOWN_WAIT_MS, TenantDeletionService } from './tenant-deletion.service';

const grantOn = (clusterId: string): Grant => ({
  id: `g-${clusterId}`,
  tenantId: 't1',
  tenantName: 'team-a',
  clusterId,
  clusterName: `cluster-${clusterId}`,
  namespaces: ['apps'],
  serviceAccountName: 'gitfleet-team-a',
  clusterScopedKinds: [],
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

function setup(
  state: {
    deleting?: boolean;
    gone?: boolean;
    releasesLeft?: number;
    clustersWithTargets?: string[];
    grants?: Grant[];
    unreachable?: string[];
    leaseTaken?: boolean;
    releasesHang?: boolean;
  } = {},
) {
  const calls: string[] = [];
  const clock = new TestClock();
  let grants = state.grants ?? [];
  const tenants = {
    getById: (id: string) =>
      state.gone === true
        ? Promise.reject(new TenantError('TenantNotFound', `Tenant ${id} not found`))
        : Promise.resolve({
            id,
            name: 'team-a',
            deletionRequestedAt: state.deleting === false ? null : new Date(0),
          } as Tenant),
    finishDeletion: () => {
      calls.push('finish');
      return Promise.resolve(true);
    },
    listDeletingIds: () => Promise.resolve(['t1']),
  } as unknown as TenantsService;
  const releases = {
    deleteAllOfTenant: () => {
      calls.push('delete releases');
      if (state.releasesHang === true) {
        return new Promise(() => undefined);
      }
      return Promise.resolve({
        releasesLeft: state.releasesLeft ?? 0,
        clusterIdsWithTargets: state.clustersWithTargets ?? [],
      });
    },
  } as unknown as ReleasesService;
  const grantsService = {
    listForTenant: () => Promise.resolve(grants),
    removeOffboarded: (g: Grant) => {
      calls.push(`remove grant ${g.clusterId}`);
      grants = grants.filter((x) => x !== g);
      return Promise.resolve(true);
    },
  } as unknown as GrantsService;
  const sources = {
    deleteAllOfTenant: () => {
      calls.push('delete sources');
      return Promise.resolve();
    },
  } as unknown as SourcesService;
  const onboarding = {
    offboard: (g: Grant) =>
      (state.unreachable ?? []).includes(g.clusterId)
        ? Promise.reject(new Error('connection refused'))
        : (calls.push(`offboard ${g.clusterId}`), Promise.resolve()),
  } as unknown as GrantOnboardingService;
  const leases = {
    tryAcquire: (name: string, holder: string) =>
      Promise.resolve(state.leaseTaken === true ? undefined : { name, holder }),
    drop: () => {
      calls.push('drop lease');
      return Promise.resolve();
    },
  } as unknown as LeaseRepository;
  const sut = new TenantDeletionService(
    loadConfig({ RECONCILE_ENABLED: 'false' }),
    tenants,
    releases,
    grantsService,
    sources,
    onboarding,
    leases,
    new DomainEventBus(),
    new PeriodicJobs(leases, clock, 'replica-a'),
  );
  return { sut, calls, clock };
}

describe('TenantDeletionService', () => {
  it('offboards only clusters where no target is left to prune, and keeps the tenant meanwhile', async () => {
    const { sut, calls } = setup({
      releasesLeft: 1,
      clustersWithTargets: ['c2'],
      grants: [grantOn('c1'), grantOn('c2')],
    });
    await sut.advance('t1');
    expect(calls).toEqual(['delete releases', 'offboard c1', 'remove grant c1', 'drop lease']);
  });

  it('keeps the grant of a cluster that could not be cleaned, and the tenant with it', async () => {
    const { sut, calls } = setup({
      grants: [grantOn('c1'), grantOn('c2')],
      unreachable: ['c2'],
    });
    await sut.advance('t1');
    expect(calls).toEqual(['delete releases', 'offboard c1', 'remove grant c1', 'drop lease']);
  });

  it('deletes the sources and the tenant once no release and no grant is left', async () => {
    const { sut, calls } = setup({ grants: [grantOn('c1')] });
    await sut.advance('t1');
    expect(calls).toEqual([
      'delete releases',
      'offboard c1',
      'remove grant c1',
      'delete sources',
      'finish',
      'drop lease',
    ]);
  });

  it('does nothing while another replica holds the tenant, or for a tenant not being deleted', async () => {
    for (const state of [{ leaseTaken: true }, { deleting: false }, { gone: true }]) {
      const { sut, calls } = setup({ ...state, grants: [grantOn('c1')] });
      await sut.advance('t1');
      expect(calls.filter((c) => c !== 'drop lease')).toEqual([]);
    }
  });

  it('runs one pass per tenant at a time on a replica', async () => {
    const { sut, calls } = setup({ grants: [grantOn('c1')] });
    await Promise.all([sut.advance('t1'), sut.advance('t1')]);
    expect(calls.filter((c) => c === 'delete releases')).toHaveLength(1);
  });

  it('does not let a stuck pass hold up shutdown beyond SHUTDOWN_WAIT_MS', async () => {
    const { sut, calls, clock } = setup({ releasesHang: true });
    void sut.advance('t1');
    await vi.waitFor(() => expect(calls).toEqual(['delete releases']));
    let done = false;
    const shutdown = sut.onApplicationShutdown().then(() => (done = true));
    await clock.advance(SHUTDOWN_WAIT_MS - 1);
    expect(done).toBe(false);
    await clock.advance(1);
    await shutdown;
    expect(done).toBe(true);
  });
});
