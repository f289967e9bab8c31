import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ReleaseRepository, ReleaseSpec } from 'src/modules/releases/release.repository';
import { TargetRepository } from 'src/modules/releases/target.repository';
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

describe("a release's whole targets for dry-run plans (real PostgreSQL)", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let sut: TargetRepository;
  let tenantId: string;
  let releaseId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    sut = new TargetRepository(ds);
    const releases = new ReleaseRepository(ds);
    const targets = new TargetRepository(ds);

    tenantId = await insertTenant(ds);
    const sourceId = await insertSource(ds, tenantId);
    const clusters = ['prod-us', 'prod-ap', 'prod-eu'];
    for (const name of clusters) {
      await insertGrant(ds, tenantId, await insertCluster(ds, { name }));
    }
    const web = await releases.insert(tenantId, spec(sourceId, 'web', clusters));
    const api = await releases.insert(tenantId, spec(sourceId, 'api', clusters));
    await targets.syncForRelease(web);
    await targets.syncForRelease(api);
    releaseId = web.id;
    await ds.query(
      `UPDATE target SET inventory = jsonb_build_array(jsonb_build_object(
         'group', '', 'version', 'v1', 'kind', 'ConfigMap', 'namespace', 'apps', 'name', cluster_name))
       WHERE release_id = $1`,
      [releaseId],
    );
  });
  afterAll(async () => db?.drop());

  it('loads every target of the release with its inventory, in cluster-name order', async () => {
    const rows = await sut.forRelease(tenantId, releaseId, 500);
    expect(rows.map((t) => t.clusterName)).toEqual(['prod-ap', 'prod-eu', 'prod-us']);
    for (const t of rows) {
      expect(t).toMatchObject({ tenantId, releaseId, releaseName: 'web', removing: false });
      expect(t.inventory).toEqual([
        { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: t.clusterName },
      ]);
    }
  });

  it('stops at the limit', async () => {
    const rows = await sut.forRelease(tenantId, releaseId, 2);
    expect(rows.map((t) => t.clusterName)).toEqual(['prod-ap', 'prod-eu']);
  });

  it("never shows another tenant's targets", async () => {
    expect(await sut.forRelease(await insertTenant(ds), releaseId, 500)).toEqual([]);
  });
});
