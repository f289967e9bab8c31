import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { SystemClock } from 'src/common/coordination/clock';
import { TargetQueueRepository } from 'src/modules/reconciler/target-queue.repository';
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

const OWNER = 'replica-a';

describe('showing a running target waiting for health (real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let sut: TargetQueueRepository;
  let targetId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    sut = new TargetQueueRepository(ds, new SystemClock());
  });
  afterAll(async () => db?.drop());

  beforeEach(async () => {
    await ds.query('TRUNCATE tenant, cluster, event CASCADE');
    const tenantId = await insertTenant(ds);
    const sourceId = await insertSource(ds, tenantId);
    await insertGrant(ds, tenantId, await insertCluster(ds, { name: 'prod-eu' }));
    const release = await new ReleaseRepository(ds).insert(
      tenantId,
      releaseSpec({ sourceId, name: 'web', clusterNames: ['prod-eu'] }),
    );
    await new TargetRepository(ds).syncForRelease(release);
    [{ id: targetId }] = await ds.query<{ id: string }[]>('SELECT id FROM target');
    // A target that was Ready before this run.
    await ds.query(`UPDATE target SET ready_status = 'True', conditions = $2 WHERE id = $1`, [
      targetId,
      JSON.stringify([
        {
          type: 'Ready',
          status: 'True',
          reason: 'ReconciliationSucceeded',
          message: 'Applied revision: main@sha1:1',
          lastTransitionTime: '2026-01-01T00:00:00.000Z',
        },
      ]),
    ]);
  });

  const row = async (): Promise<{ ready_status: string; conditions: any[] }> =>
    (await ds.query('SELECT ready_status, conditions FROM target WHERE id = $1', [targetId]))[0];

  it('shows Ready Unknown and Reconciling, reason Progressing, with the message as given', async () => {
    const [claim] = await sut.claimDue(OWNER, 1, 30_000);
    // Quotes and SQL in an object name stay data.
    const message =
      "Running health checks; waiting for: Certificate.cert-manager.io/apps/it's'); DROP TABLE target; --";

    expect(await sut.showProgress(claim, OWNER, message)).toBe(true);

    const shown = await row();
    expect(shown.ready_status).toBe('Unknown');
    expect(shown.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'Unknown', reason: 'Progressing', message }),
      expect.objectContaining({
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message,
      }),
    ]);
    // Shown again with another set: the transition time of Ready Unknown is kept.
    const first = shown.conditions[0].lastTransitionTime as string;
    expect(await sut.showProgress(claim, OWNER, 'waiting for: less')).toBe(true);
    expect((await row()).conditions[0]).toMatchObject({
      message: 'waiting for: less',
      lastTransitionTime: first,
    });
  });

  it('writes nothing once the lease is no longer ours', async () => {
    const [claim] = await sut.claimDue(OWNER, 1, 30_000);
    await ds.query(
      `UPDATE target SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [targetId],
    );
    const before = await row();

    expect(await sut.showProgress(claim, OWNER, 'waiting for: x')).toBe(false);
    expect(await sut.showProgress({ ...claim, fencingToken: '0' }, OWNER, 'waiting for: x')).toBe(
      false,
    );

    expect(await row()).toEqual(before);
  });
});
