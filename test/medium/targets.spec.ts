import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ReleaseEntity } from 'src/modules/releases/entities/release.entity';
import { ReleaseRepository, ReleaseSpec } from 'src/modules/releases/release.repository';
import { TargetRepository } from 'src/modules/releases/target.repository';
import { SystemClock } from 'src/common/coordination/clock';
import { TargetQueueRepository } from 'src/modules/reconciler/target-queue.repository';
import { createTestDatabase } from 'test/support/database/test-database';
import {
  insertCluster,
  insertGrant,
  insertSource,
  insertTenant,
} from 'test/support/factories/registry.factory';
import { releaseSpec } from 'test/support/factories/release.factory';

let currentSourceId = '';

function spec(overrides: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return releaseSpec({
    sourceId: currentSourceId,
    clusterSelector: { matchLabels: { env: 'prod' } },
    ...overrides,
  });
}

describe('targets: selection, queue and fencing (real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let releases: ReleaseRepository;
  let sut: TargetRepository;
  let queue: TargetQueueRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    releases = new ReleaseRepository(ds);
    sut = new TargetRepository(ds);
    queue = new TargetQueueRepository(ds, new SystemClock());
  });
  afterAll(async () => db.drop());
  beforeEach(async () => {
    await ds.query('TRUNCATE tenant, cluster CASCADE');
  });

  async function fleet(): Promise<{
    tenantId: string;
    prod: string[];
    staging: string;
    ungranted: string;
  }> {
    const tenantId = await insertTenant(ds);
    currentSourceId = await insertSource(ds, tenantId);
    const prod = [
      await insertCluster(ds, { labels: { env: 'prod' } }),
      await insertCluster(ds, { labels: { env: 'prod', region: 'eu' } }),
    ];
    const staging = await insertCluster(ds, { labels: { env: 'staging' } });
    const ungranted = await insertCluster(ds, { labels: { env: 'prod' } });
    for (const c of [...prod, staging]) {
      await insertGrant(ds, tenantId, c);
    }
    return { tenantId, prod, staging, ungranted };
  }

  const clusterIdsOf = async (release: ReleaseEntity, removing = false): Promise<string[]> =>
    (
      await ds.query<{ cluster_id: string }[]>(
        'SELECT cluster_id FROM target WHERE release_id = $1 AND removing = $2 ORDER BY cluster_id',
        [release.id, removing],
      )
    ).map((r) => r.cluster_id);

  it('creates targets only on selected clusters the tenant holds grants on', async () => {
    const { tenantId, prod } = await fleet();
    const release = await releases.insert(tenantId, spec());
    expect(await sut.syncForRelease(release)).toEqual({ added: 2, removed: 0 });
    expect(await clusterIdsOf(release)).toEqual([...prod].sort());
    // Idempotent.
    expect(await sut.syncForRelease(release)).toEqual({ added: 0, removed: 0 });
  });

  it('marks targets removing when their cluster stops matching, and revives them', async () => {
    const { tenantId, prod } = await fleet();
    const release = await releases.insert(tenantId, spec());
    await sut.syncForRelease(release);
    await ds.query(`UPDATE cluster SET labels = '{"env":"retired"}' WHERE id = $1`, [prod[0]]);
    expect(await sut.syncForRelease(release)).toEqual({ added: 0, removed: 1 });
    expect(await clusterIdsOf(release, true)).toEqual([prod[0]]);
    await ds.query(`UPDATE cluster SET labels = '{"env":"prod"}' WHERE id = $1`, [prod[0]]);
    expect((await sut.syncForRelease(release)).added).toBe(1);
    expect(await clusterIdsOf(release, true)).toEqual([]);
  });

  it('selects by matchExpressions and by explicit names', async () => {
    const { tenantId, prod, staging } = await fleet();
    const byExpr = await releases.insert(
      tenantId,
      spec({
        clusterSelector: { matchExpressions: [{ key: 'region', operator: 'DoesNotExist' }] },
      }),
    );
    await sut.syncForRelease(byExpr);
    expect(await clusterIdsOf(byExpr)).toEqual([prod[0], staging].sort());
    const names = await ds.query<{ name: string }[]>('SELECT name FROM cluster WHERE id = $1', [
      staging,
    ]);
    const byName = await releases.insert(
      tenantId,
      spec({ clusterSelector: null, clusterNames: [names[0].name] }),
    );
    await sut.syncForRelease(byName);
    expect(await clusterIdsOf(byName)).toEqual([staging]);
  });

  it("never shows another tenant's targets", async () => {
    const { tenantId } = await fleet();
    const other = await insertTenant(ds);
    const release = await releases.insert(tenantId, spec());
    await sut.syncForRelease(release);
    expect((await sut.list(tenantId, {}, 50, undefined)).items).toHaveLength(2);
    expect((await sut.list(other, {}, 50, undefined)).items).toHaveLength(0);
    const [target] = (await sut.list(tenantId, {}, 50, undefined)).items;
    expect(await sut.findById(other, target.id)).toBeNull();
  });

  it('pages through targets in a stable order', async () => {
    const { tenantId } = await fleet();
    for (let i = 0; i < 3; i++) {
      await sut.syncForRelease(await releases.insert(tenantId, spec({ name: `r${i}` })));
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await sut.list(tenantId, {}, 4, token);
      seen.push(...page.items.map((t) => `${t.releaseName}/${t.clusterName}`));
      token = page.continue;
    } while (token !== undefined);
    expect(seen).toHaveLength(6);
    expect([...seen].sort()).toEqual(seen);
  });

  it('never hands one target to two claimers at once', async () => {
    const { tenantId } = await fleet();
    for (let i = 0; i < 10; i++) {
      await sut.syncForRelease(await releases.insert(tenantId, spec({ name: `q${i}` })));
    }
    const [a, b] = await Promise.all([
      queue.claimDue('replica-a', 15, 30_000),
      queue.claimDue('replica-b', 15, 30_000),
    ]);
    // A claim locks a short prefix of the due index and leases part of it, so a claimer
    // running at the same moment may get fewer rows this round (SKIP LOCKED) and claims
    // again at once, as the worker does; what matters is that no row is leased twice.
    const ids = [...a, ...b].map((c) => c.id);
    for (let round = 0; round < 5 && ids.length < 20; round++) {
      ids.push(...(await queue.claimDue('replica-b', 15, 30_000)).map((c) => c.id));
    }
    expect(a.length).toBeGreaterThan(0);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    expect(await queue.claimDue('replica-c', 50, 30_000)).toEqual([]);
  });

  it('skips clusters at their concurrency limit', async () => {
    const { tenantId, prod } = await fleet();
    await sut.syncForRelease(await releases.insert(tenantId, spec()));
    const claimed = await queue.claimDue('replica-a', 10, 30_000, new Map([[prod[0], 1]]), 1);
    expect(claimed.map((c) => c.clusterId)).toEqual([prod[1]]);
  });

  it('claims other clusters while a full cluster has more due targets than a claim ranks', async () => {
    const { tenantId, prod, staging } = await fleet();
    const names = await ds.query<{ id: string; name: string }[]>(
      'SELECT id, name FROM cluster WHERE id = ANY($1)',
      [[prod[0], staging]],
    );
    const nameOf = (id: string): string => names.find((n) => n.id === id)!.name;
    for (let i = 0; i < 70; i++) {
      await sut.syncForRelease(
        await releases.insert(
          tenantId,
          spec({ name: `busy${i}`, clusterSelector: null, clusterNames: [nameOf(prod[0])] }),
        ),
      );
    }
    await sut.syncForRelease(
      await releases.insert(
        tenantId,
        spec({ name: 'quiet', clusterSelector: null, clusterNames: [nameOf(staging)] }),
      ),
    );
    // The full cluster's targets are all due before the other one's.
    await ds.query(
      `UPDATE target SET next_run_at = now() - interval '1 hour' WHERE cluster_id = $1`,
      [prod[0]],
    );
    const claimed = await queue.claimDue('replica-a', 8, 30_000, new Map([[prod[0], 2]]), 2);
    expect(claimed.map((c) => c.clusterId)).toEqual([staging]);
  });

  it('rejects a result written with a stale fencing token or after the lease expired', async () => {
    const { tenantId } = await fleet();
    await sut.syncForRelease(await releases.insert(tenantId, spec()));
    const [first] = await queue.claimDue('replica-a', 1, 50);
    await new Promise((r) => setTimeout(r, 120));
    // The lease expired: another replica takes the target over.
    const [second] = await queue.claimDue('replica-b', 1, 30_000);
    expect(second.id).toBe(first.id);
    expect(BigInt(second.fencingToken)).toBeGreaterThan(BigInt(first.fencingToken));

    const outcome = { nextRunAt: new Date(Date.now() + 60_000), lastResult: 'Succeeded' as const };
    expect(await queue.complete(first, 'replica-a', outcome, undefined)).toBe(false);
    expect(await queue.renewLease(first, 'replica-a', 30_000)).toBe(false);
    expect(await queue.complete(second, 'replica-b', outcome, undefined)).toBe(true);
    const rows = await ds.query<{ lease_owner: string | null; last_result: string }[]>(
      'SELECT lease_owner, last_result FROM target WHERE id = $1',
      [first.id],
    );
    expect(rows[0]).toEqual({ lease_owner: null, last_result: 'Succeeded' });
  });

  it('makes a target leaving its release due again when a run that started before ends', async () => {
    const { tenantId } = await fleet();
    const release = await releases.insert(tenantId, spec());
    await sut.syncForRelease(release);
    const claims = await queue.claimDue('replica-a', 10, 30_000);
    expect(claims).toHaveLength(2);

    // The release is deleted while both runs are in flight (as ReleasesService.delete does).
    await releases.markForDeletion(tenantId, release.id);
    const deleting = (await releases.findById(tenantId, release.id))!;
    expect(await sut.syncForRelease(deleting)).toEqual({ added: 0, removed: 2 });
    const later = new Date(Date.now() + 3_600_000);
    for (const claim of claims) {
      expect(await queue.complete(claim, 'replica-a', { nextRunAt: later }, undefined)).toBe(true);
    }

    const due = await ds.query<{ removing: boolean; due: boolean }[]>(
      'SELECT removing, next_run_at <= now() AS due FROM target WHERE release_id = $1',
      [release.id],
    );
    expect(due).toEqual([
      { removing: true, due: true },
      { removing: true, due: true },
    ]);
  });

  it('keeps only the newest runs as history', async () => {
    const { tenantId, staging } = await fleet();
    const [{ name }] = await ds.query<{ name: string }[]>(
      'SELECT name FROM cluster WHERE id = $1',
      [staging],
    );
    await sut.syncForRelease(
      await releases.insert(tenantId, spec({ clusterSelector: null, clusterNames: [name] })),
    );
    let targetId = '';
    for (let i = 0; i < 13; i++) {
      const [claim] = await queue.claimDue('replica-a', 1, 30_000);
      targetId = claim.id;
      const written = await queue.complete(
        claim,
        'replica-a',
        { nextRunAt: new Date(Date.now() - 1000) },
        {
          startedAt: new Date(Date.now() + i * 1000),
          durationMs: 5,
          revision: `main@sha1:${i}`,
          result: 'Succeeded',
          reason: 'ReconciliationSucceeded',
          message: '',
          counts: null,
          drift: [],
        },
      );
      expect(written).toBe(true);
    }
    const history = await sut.history(tenantId, targetId);
    expect(history).toHaveLength(10);
    expect(history[0].revision).toBe('main@sha1:12');
    expect(history.at(-1)!.revision).toBe('main@sha1:3');
    expect(await sut.history(await insertTenant(ds), targetId)).toEqual([]);
  });
});
