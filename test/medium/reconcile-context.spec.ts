import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ClusterRepository } from 'src/clusters/cluster.repository';
import { ClustersService } from 'src/clusters/clusters.service';
import type { ClusterClientFactory } from 'src/clusters/connection/cluster-client.factory';
import type { ClusterProbeService } from 'src/clusters/connection/cluster-probe.service';
import type { SecretVault } from 'src/common/vault/secret-vault';
import type { AppConfig } from 'src/common/config/config';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { ReconcileContextLoader } from 'src/modules/reconciler/reconcile-context.loader';
import type { ReleaseSourceLookup } from 'src/modules/releases/release-source.port';
import { ReleaseRepository, ReleaseSpec } from 'src/modules/releases/release.repository';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetsService } from 'src/modules/releases/targets.service';
import { TargetRepository } from 'src/modules/releases/target.repository';
import type { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import type { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import type { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import type { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import type { SourceScheduler } from 'src/modules/sources/source-scheduler';
import { SourceRepository } from 'src/modules/sources/source.repository';
import { SourcesService } from 'src/modules/sources/sources.service';
import { GrantRepository } from 'src/tenants/grants/grant.repository';
import { GrantsService } from 'src/tenants/grants/grants.service';
import { TenantRepository } from 'src/tenants/tenant.repository';
import { TenantsService } from 'src/tenants/tenants.service';
import { SystemClock } from 'src/common/coordination/clock';
import {
  type ClaimedTarget,
  TargetQueueRepository,
} from 'src/modules/reconciler/target-queue.repository';
import { createTestDatabase } from 'test/support/database/test-database';
import {
  insertCluster,
  insertGrant,
  insertSource,
  insertTenant,
} from 'test/support/factories/registry.factory';
import { releaseSpec } from 'test/support/factories/release.factory';

const spec = (sourceId: string, name: string, clusterNames: string[]): ReleaseSpec =>
  releaseSpec({ sourceId, name, clusterNames });

/** Dependencies the loaded methods never touch. */
const unused = <T>(): T => ({}) as T;

describe("loading a claimed batch's reconcile contexts (real PostgreSQL)", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let releases: ReleaseRepository;
  let targets: TargetRepository;
  let sourceRepository: SourceRepository;
  let queue: TargetQueueRepository;
  let sut: ReconcileContextLoader;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    releases = new ReleaseRepository(ds);
    targets = new TargetRepository(ds);
    queue = new TargetQueueRepository(ds, new SystemClock());
    // Real services over real repositories; only what getByIds, namesByIds and grantsFor use is wired.
    const events = new DomainEventBus();
    const tenants = new TenantsService(new TenantRepository(ds), events);
    const clusters = new ClustersService(
      unused<AppConfig>(),
      new ClusterRepository(ds),
      tenants,
      unused<SecretVault>(),
      unused<ClusterClientFactory>(),
      unused<ClusterProbeService>(),
      events,
    );
    const grants = new GrantsService(new GrantRepository(ds), clusters, tenants, events);
    sourceRepository = new SourceRepository(ds);
    const sources = new SourcesService(
      sourceRepository,
      unused<SourceCredentialsCodec>(),
      unused<SourceScheduler>(),
      unused<GitFetcher>(),
      unused<ArtifactStore>(),
      unused<AppConfig>(),
      unused<HelmRepositoryClient>(),
    );
    const releaseService = new ReleasesService(
      ds,
      releases,
      targets,
      tenants,
      unused<ReleaseSourceLookup>(),
      events,
    );
    const targetService = new TargetsService(targets, releaseService, tenants, clusters);
    sut = new ReconcileContextLoader(
      targetService,
      releaseService,
      clusters,
      tenants,
      grants,
      sources,
    );
  });
  afterAll(async () => db?.drop());

  /**
   * Two tenants on three clusters, overlapping on the middle one:
   * acme holds grants on c1, c2 and deploys web there; beta holds grants on c2, c3 and deploys api.
   */
  interface Fleet {
    acme: string;
    beta: string;
    clusters: { c1: string; c2: string; c3: string };
    grants: Record<string, string>;
    sources: { acme: string; beta: string };
    releases: { web: string; api: string };
  }
  let fleet: Fleet;

  beforeEach(async () => {
    await ds.query('TRUNCATE tenant, cluster CASCADE');
    const acme = await insertTenant(ds, 'acme');
    const beta = await insertTenant(ds, 'beta');
    const clusters = {
      c1: await insertCluster(ds, { name: 'c1', labels: { env: 'prod' } }),
      c2: await insertCluster(ds, { name: 'c2', ownerTenantId: beta }),
      c3: await insertCluster(ds, { name: 'c3' }),
    };
    const grants = {
      [`${acme}/${clusters.c1}`]: await insertGrant(ds, acme, clusters.c1, ['web']),
      [`${acme}/${clusters.c2}`]: await insertGrant(ds, acme, clusters.c2, ['web', 'web-canary']),
      [`${beta}/${clusters.c2}`]: await insertGrant(ds, beta, clusters.c2, ['api']),
      [`${beta}/${clusters.c3}`]: await insertGrant(ds, beta, clusters.c3, ['api']),
    };
    const sources = {
      acme: await insertSource(ds, acme, 'acme-repo'),
      beta: await insertSource(ds, beta, 'beta-repo'),
    };
    const web = await releases.insert(acme, spec(sources.acme, 'web', ['c1', 'c2']));
    const api = await releases.insert(beta, spec(sources.beta, 'api', ['c2', 'c3']));
    await targets.syncForRelease(web);
    await targets.syncForRelease(api);
    fleet = { acme, beta, clusters, grants, sources, releases: { web: web.id, api: api.id } };
  });

  const claimAll = async (): Promise<ClaimedTarget[]> => {
    const claims = await queue.claimDue('replica-a', 50, 30_000);
    expect(claims).toHaveLength(4);
    return claims;
  };

  it('gives each target of a batch over two tenants its own release, cluster, grant and source', async () => {
    const claims = await claimAll();

    const contexts = await sut.load(claims);

    expect([...contexts.keys()].sort()).toEqual(claims.map((c) => c.id).sort());
    const summary = claims
      .map((c) => {
        const ctx = contexts.get(c.id)!;
        return {
          target: ctx.target.id,
          targetTenant: ctx.target.tenantId,
          release: ctx.release.name,
          releaseTenant: ctx.release.tenantId,
          cluster: ctx.cluster.name,
          clusterId: ctx.cluster.id,
          tenantName: ctx.tenantName,
          grant: ctx.grant?.id,
          grantPair: `${ctx.grant?.tenantId}/${ctx.grant?.clusterId}`,
          source: ctx.source?.name,
          sourceTenant: ctx.source?.tenantId,
          claim: c.id,
        };
      })
      .sort((a, b) => `${a.release}/${a.cluster}`.localeCompare(`${b.release}/${b.cluster}`));

    const { acme, beta, clusters, grants } = fleet;
    const expected = (
      release: string,
      tenant: string,
      tenantName: string,
      cluster: 'c1' | 'c2' | 'c3',
      source: string,
    ): Record<string, unknown> => ({
      targetTenant: tenant,
      release,
      releaseTenant: tenant,
      cluster,
      clusterId: clusters[cluster],
      tenantName,
      grant: grants[`${tenant}/${clusters[cluster]}`],
      grantPair: `${tenant}/${clusters[cluster]}`,
      source,
      sourceTenant: tenant,
    });
    expect(summary).toMatchObject([
      expected('api', beta, 'beta', 'c2', 'beta-repo'),
      expected('api', beta, 'beta', 'c3', 'beta-repo'),
      expected('web', acme, 'acme', 'c1', 'acme-repo'),
      expected('web', acme, 'acme', 'c2', 'acme-repo'),
    ]);
    for (const s of summary) {
      expect(s.target).toBe(s.claim);
    }

    // Whole rows, not just ids: what the reconcile reads next.
    const webOnC2 = [...contexts.values()].find(
      (c) => c.release.name === 'web' && c.cluster.name === 'c2',
    )!;
    expect(webOnC2.grant).toMatchObject({
      tenantName: 'acme',
      clusterName: 'c2',
      namespaces: ['web', 'web-canary'],
      serviceAccountName: 'gitfleet-tenant',
    });
    expect(webOnC2.cluster).toMatchObject({ ownerTenantId: beta, ownerTenantName: 'beta' });
    expect(webOnC2.release).toMatchObject({
      id: fleet.releases.web,
      sourceId: fleet.sources.acme,
      clusterNames: ['c1', 'c2'],
    });
    expect(webOnC2.target).toMatchObject({
      releaseId: fleet.releases.web,
      clusterId: clusters.c2,
      leaseOwner: 'replica-a',
    });
    expect(webOnC2.source).toMatchObject({ id: fleet.sources.acme, kind: 'git' });
  });

  it('answers an empty map for an empty batch', async () => {
    expect((await sut.load([])).size).toBe(0);
  });

  it('leaves the grant out when the tenant holds none on the cluster (any more)', async () => {
    const claims = await claimAll();
    const { acme, clusters } = fleet;
    await ds.query('DELETE FROM "grant" WHERE tenant_id = $1 AND cluster_id = $2', [
      acme,
      clusters.c2,
    ]);

    const contexts = await sut.load(claims);

    expect(contexts.size).toBe(4);
    for (const claim of claims) {
      const ctx = contexts.get(claim.id)!;
      if (claim.tenantId === acme && claim.clusterId === clusters.c2) {
        expect(ctx.grant).toBeUndefined();
      } else {
        // beta's grant on the same cluster stays beta's.
        expect(ctx.grant).toMatchObject({ tenantId: claim.tenantId, clusterId: claim.clusterId });
      }
    }
  });

  it('leaves out a claim whose target was deleted meanwhile', async () => {
    const claims = await claimAll();
    const gone = claims[0];
    await ds.query('DELETE FROM target WHERE id = $1', [gone.id]);

    const contexts = await sut.load(claims);

    expect(contexts.has(gone.id)).toBe(false);
    expect([...contexts.keys()].sort()).toEqual(
      claims
        .filter((c) => c !== gone)
        .map((c) => c.id)
        .sort(),
    );
  });

  it("leaves out a claim whose tenant does not match the target's row", async () => {
    const claims = await claimAll();
    const [first, ...rest] = claims;
    const otherTenant = first.tenantId === fleet.acme ? fleet.beta : fleet.acme;
    const mismatched: ClaimedTarget = { ...first, tenantId: otherTenant };
    const unknownTenant: ClaimedTarget = {
      ...rest[0],
      tenantId: '00000000-0000-4000-8000-000000000000',
    };

    const contexts = await sut.load([mismatched, unknownTenant, ...rest.slice(1)]);

    expect(contexts.has(first.id)).toBe(false);
    expect(contexts.has(rest[0].id)).toBe(false);
    expect([...contexts.keys()].sort()).toEqual(
      rest
        .slice(1)
        .map((c) => c.id)
        .sort(),
    );
  });

  it('leaves out a claim whose release, cluster or tenant is gone', async () => {
    const { acme, beta, clusters } = fleet;
    const claims = await claimAll();
    // The rows cascade away with their parents; the claims were taken before.
    await ds.query('DELETE FROM cluster WHERE id = $1', [clusters.c1]);
    await ds.query('DELETE FROM release WHERE id = $1', [fleet.releases.api]);

    const contexts = await sut.load(claims);

    expect([...contexts.values()].map((c) => `${c.release.name}/${c.cluster.name}`)).toEqual([
      'web/c2',
    ]);
    expect(claims.filter((c) => c.tenantId === beta).every((c) => !contexts.has(c.id))).toBe(true);
    expect(
      contexts.get(claims.find((c) => c.clusterId === clusters.c2 && c.tenantId === acme)!.id),
    ).toBeDefined();
  });

  it("leaves out the source when the release's source belongs to another tenant", async () => {
    const { acme, clusters } = fleet;
    // No constraint ties a release's source to its tenant: a crafted or corrupt row must not leak beta's source.
    const borrowed = await releases.insert(acme, spec(fleet.sources.beta, 'borrowed', ['c1']));
    await targets.syncForRelease(borrowed);
    const claims = await queue.claimDue('replica-a', 50, 30_000);
    expect(claims).toHaveLength(5);

    const contexts = await sut.load(claims);

    expect(contexts.size).toBe(5);
    const claim = claims.find((c) => c.releaseId === borrowed.id)!;
    const ctx = contexts.get(claim.id)!;
    expect(ctx).toMatchObject({
      tenantName: 'acme',
      release: { id: borrowed.id, sourceId: fleet.sources.beta },
      cluster: { id: clusters.c1 },
      grant: { tenantId: acme, clusterId: clusters.c1 },
    });
    expect(ctx.source).toBeUndefined();
    // The beta release of the same batch still gets the same source row.
    const api = [...contexts.values()].filter((c) => c.release.name === 'api');
    expect(api.map((c) => c.source?.id)).toEqual([fleet.sources.beta, fleet.sources.beta]);
  });

  it("reads no other tenant's target, release or source in a batch, even by a known id", async () => {
    const { acme, beta } = fleet;
    const claims = await claimAll();
    const acmeTarget = claims.find((c) => c.tenantId === acme)!;
    const betaTarget = claims.find((c) => c.tenantId === beta)!;

    // Right ids, wrong tenant: nothing.
    expect(await targets.findByTenantRowIds([{ tenantId: beta, id: acmeTarget.id }])).toEqual([]);
    expect(await releases.findByTenantRowIds([{ tenantId: beta, id: fleet.releases.web }])).toEqual(
      [],
    );
    expect(
      await sourceRepository.findByTenantRowIds([{ tenantId: acme, id: fleet.sources.beta }]),
    ).toEqual([]);

    // Mixed batch: each id only with its own tenant, duplicates read once.
    const mixed = await targets.findByTenantRowIds([
      { tenantId: acme, id: acmeTarget.id },
      { tenantId: acme, id: acmeTarget.id },
      { tenantId: acme, id: betaTarget.id },
      { tenantId: beta, id: betaTarget.id },
    ]);
    expect(mixed.map((t) => `${t.tenantId}/${t.id}`).sort()).toEqual(
      [`${acme}/${acmeTarget.id}`, `${beta}/${betaTarget.id}`].sort(),
    );
    const releasesRead = await releases.findByTenantRowIds([
      { tenantId: acme, id: fleet.releases.web },
      { tenantId: acme, id: fleet.releases.api },
    ]);
    expect(releasesRead.map((r) => r.name)).toEqual(['web']);
    const sourcesRead = await sourceRepository.findByTenantRowIds([
      { tenantId: beta, id: fleet.sources.beta },
      { tenantId: beta, id: fleet.sources.acme },
    ]);
    expect(sourcesRead.map((r) => r.name)).toEqual(['beta-repo']);
  });
  it('tells which releases another release of their own tenant depends on', async () => {
    const { acme, beta } = fleet;
    // beta's release naming "web" is another tenant's: it does not make acme's web a dependency.
    await ds.query(`UPDATE release SET depends_on = '{web}' WHERE id = $1`, [fleet.releases.api]);
    const keys = [
      { tenantId: acme, id: fleet.releases.web },
      { tenantId: beta, id: fleet.releases.api },
    ];
    const flags = async (): Promise<Record<string, boolean>> =>
      Object.fromEntries(
        (await releases.findByTenantRowIdsWithDependents(keys)).map((r) => [
          r.release.name,
          r.hasDependents,
        ]),
      );

    expect(await flags()).toEqual({ web: false, api: false });

    const worker = await releases.insert(acme, spec(fleet.sources.acme, 'worker', ['c1']));
    await ds.query(`UPDATE release SET depends_on = '{web}' WHERE id = $1`, [worker.id]);
    expect(await flags()).toEqual({ web: true, api: false });
  });
});
