import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ReleaseRepository } from 'src/modules/releases/release.repository';
import { TargetRepository } from 'src/modules/releases/target.repository';
import { createTestDatabase } from 'test/support/database/test-database';
import {
  insertCluster,
  insertGrant,
  insertSource,
  insertTenant,
} from 'test/support/factories/registry.factory';
import { releaseSpec } from 'test/support/factories/release.factory';
import type { AdoptionPolicy } from 'src/modules/releases/releases.types';

const deployment = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  namespace: 'apps',
  name: 'web',
};

describe('the other targets on a cluster, as prune and apply read them (real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let releases: ReleaseRepository;
  let sut: TargetRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    releases = new ReleaseRepository(ds);
    sut = new TargetRepository(ds);
  });
  afterAll(async () => db.drop());

  async function targetOf(
    tenantId: string,
    clusterId: string,
    name: string,
    adopt: AdoptionPolicy = 'IfUnowned',
  ) {
    const sourceId = await insertSource(ds, tenantId);
    const release = await releases.insert(
      tenantId,
      releaseSpec({
        sourceId,
        name,
        clusterNames: null,
        clusterSelector: { matchLabels: { peers: 'yes' } },
        adopt,
      }),
    );
    await sut.syncForRelease(release);
    const [row] = await ds.query<{ id: string }[]>(
      'SELECT id FROM target WHERE release_id = $1 AND cluster_id = $2',
      [release.id, clusterId],
    );
    return { releaseId: release.id, targetId: row.id };
  }

  it("answers every tenant's other targets on the cluster with their inventory, claims and departure, in one query", async () => {
    const mine = await insertTenant(ds, 'team-mine');
    const theirs = await insertTenant(ds, 'team-theirs');
    const cluster = await insertCluster(ds, { labels: { peers: 'yes' } });
    const elsewhere = await insertCluster(ds, { labels: { peers: 'yes' } });
    for (const [t, c] of [
      [mine, cluster],
      [theirs, cluster],
      [theirs, elsewhere],
    ]) {
      await insertGrant(ds, t, c);
    }
    const a = await targetOf(mine, cluster, 'a');
    const b = await targetOf(theirs, cluster, 'b', 'Always');
    const c = await targetOf(mine, cluster, 'c');
    await ds.query(`UPDATE target SET inventory = $2 WHERE id = $1`, [
      b.targetId,
      JSON.stringify([deployment]),
    ]);
    await ds.query(`UPDATE target SET conflicts = $2 WHERE id = $1`, [
      c.targetId,
      JSON.stringify([deployment]),
    ]);
    await ds.query(`UPDATE release SET deletion_requested_at = now() WHERE id = $1`, [c.releaseId]);

    const peers = await sut.peersOnCluster(cluster, a.targetId);

    expect(peers.sort((x, y) => x.releaseName.localeCompare(y.releaseName))).toEqual([
      {
        targetId: b.targetId,
        tenantId: theirs,
        tenantName: 'team-theirs',
        releaseName: 'b',
        departing: false,
        adopt: 'Always',
        inventory: [deployment],
        conflicts: [],
      },
      {
        targetId: c.targetId,
        tenantId: mine,
        tenantName: 'team-mine',
        releaseName: 'c',
        departing: true,
        adopt: 'IfUnowned',
        inventory: [],
        conflicts: [deployment],
      },
    ]);
  });

  it('wakes targets only by their own tenant and id', async () => {
    const tenant = await insertTenant(ds);
    const other = await insertTenant(ds);
    const cluster = await insertCluster(ds, { labels: { peers: 'yes' } });
    await insertGrant(ds, tenant, cluster);
    const { targetId } = await targetOf(tenant, cluster, 'woken');
    await ds.query(`UPDATE target SET next_run_at = now() + interval '1 hour' WHERE id = $1`, [
      targetId,
    ]);

    expect(await sut.enqueueTargets([{ tenantId: other, id: targetId }])).toBe(0);
    expect(await sut.enqueueTargets([{ tenantId: tenant, id: targetId }])).toBe(1);
    const [row] = await ds.query<{ due: boolean }[]>(
      'SELECT next_run_at <= now() AS due FROM target WHERE id = $1',
      [targetId],
    );
    expect(row.due).toBe(true);
  });
});
