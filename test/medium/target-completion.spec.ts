import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource, EntityManager } from 'typeorm';
import { EventRepository, type NewEvent } from 'src/modules/events/event.repository';
import { TargetRunEntity } from 'src/modules/releases/entities/target-run.entity';
import { TargetEntity } from 'src/modules/releases/entities/target.entity';
import { ReleaseRepository, ReleaseSpec } from 'src/modules/releases/release.repository';
import { SystemClock } from 'src/common/coordination/clock';
import {
  type ClaimedTarget,
  type TargetOutcome,
  TargetQueueRepository,
} from 'src/modules/reconciler/target-queue.repository';
import { TargetRepository } from 'src/modules/releases/target.repository';
import { createTestDatabase } from 'test/support/database/test-database';
import {
  insertCluster,
  insertGrant,
  insertSource,
  insertTenant,
} from 'test/support/factories/registry.factory';
import { releaseSpec } from 'test/support/factories/release.factory';

const HISTORY_LIMIT = 10;
const LEASE_MS = 30_000;

const spec = (sourceId: string, name: string, clusterNames: string[]): ReleaseSpec =>
  releaseSpec({ sourceId, name, clusterNames });

type Run = Omit<TargetRunEntity, 'id' | 'targetId' | 'target'>;

const run = (i: number, overrides: Partial<Run> = {}): Run => ({
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  durationMs: 5 + i,
  revision: `main@sha1:${i}`,
  result: 'Succeeded',
  reason: 'ReconciliationSucceeded',
  message: '',
  counts: null,
  drift: [],
  ...overrides,
});

const past = (): Date => new Date(Date.now() - 60_000);
const later = (): Date => new Date(Date.now() + 3_600_000);

describe('completing a reconcile in one statement (real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let sut: TargetQueueRepository;
  let targets: TargetRepository;
  let events: EventRepository;
  let tenantId: string;
  let targetIds: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    sut = new TargetQueueRepository(ds, new SystemClock());
    targets = new TargetRepository(ds);
    events = new EventRepository(ds);
  });
  afterAll(async () => db?.drop());

  /** A fresh fleet per test: one release on two clusters, so two targets to claim. */
  beforeEach(async () => {
    await ds.query('TRUNCATE tenant, cluster, event CASCADE');
    tenantId = await insertTenant(ds);
    const sourceId = await insertSource(ds, tenantId);
    const names = ['prod-eu', 'prod-us'];
    for (const name of names) {
      await insertGrant(ds, tenantId, await insertCluster(ds, { name }));
    }
    const release = await new ReleaseRepository(ds).insert(tenantId, spec(sourceId, 'web', names));
    await targets.syncForRelease(release);
    targetIds = (
      await ds.query<{ id: string }[]>(
        'SELECT id FROM target WHERE release_id = $1 ORDER BY cluster_name',
        [release.id],
      )
    ).map((r) => r.id);
    // Only the first target is due: claimDue always hands out that one.
    await ds.query('UPDATE target SET next_run_at = $2 WHERE id = $1', [targetIds[1], later()]);
  });

  async function claim(owner = 'replica-a', leaseMs = LEASE_MS): Promise<ClaimedTarget> {
    const claimed = await sut.claimDue(owner, 1, leaseMs);
    expect(claimed.map((c) => c.id)).toEqual([targetIds[0]]);
    return claimed[0];
  }

  /** Makes the claimed lease run out without waiting for it. */
  const expireLease = (id: string): Promise<unknown> =>
    ds.query(`UPDATE target SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [
      id,
    ]);

  /** The whole stored row as JSON, to compare before and after a rejected write. */
  const snapshot = async (id: string): Promise<unknown> =>
    (
      await ds.query<{ row: unknown }[]>('SELECT to_jsonb(t) AS row FROM target t WHERE id = $1', [
        id,
      ])
    )[0]?.row;

  const runsOf = async (id: string): Promise<{ id: string; revision: string | null }[]> =>
    ds.query('SELECT id, revision FROM target_run WHERE target_id = $1 ORDER BY started_at DESC', [
      id,
    ]);

  const load = async (id: string): Promise<TargetEntity> =>
    (await ds.getRepository(TargetEntity).findOneBy({ id }))!;

  describe('writing the outcome', () => {
    it('writes every field with its column type and releases the lease', async () => {
      await ds.query(
        `UPDATE target SET last_error = 'boom', failure_count = 4, counts = '{"applied":9}' WHERE id = $1`,
        [targetIds[0]],
      );
      const c = await claim();
      const reconciledAt = new Date('2026-03-04T05:06:07.891Z');
      const nextRunAt = new Date('2026-03-04T05:11:07.891Z');
      const outcome: TargetOutcome = {
        appliedRevision: 'main@sha1:abc',
        lastAttemptedRevision: 'main@sha1:abc',
        observedGeneration: 3,
        appliedDigest: 'sha256:0123',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'ReconciliationSucceeded',
            message: 'applied "2" objects: {ok}',
            lastTransitionTime: reconciledAt.toISOString(),
          },
        ],
        readyStatus: 'True',
        lastResult: 'Succeeded',
        counts: { applied: 2, unchanged: 1, pruned: 0, drifted: 0 },
        lastDurationMs: 1234,
        lastError: null,
        inventory: [
          { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'web' },
          { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'apps', name: 'web' },
        ],
        failureCount: 0,
        lastReconciledAt: reconciledAt,
        nextRunAt,
      };

      expect(await sut.complete(c, 'replica-a', outcome, undefined)).toBe(true);

      const [types] = await ds.query<Record<string, unknown>[]>(
        `SELECT jsonb_typeof(conditions) AS conditions, jsonb_typeof(inventory) AS inventory,
                jsonb_typeof(counts) AS counts, last_error IS NULL AS last_error_is_null,
                lease_owner, lease_expires_at, fencing_token::text AS fencing_token
         FROM target WHERE id = $1`,
        [c.id],
      );
      expect(types).toEqual({
        conditions: 'array',
        inventory: 'array',
        counts: 'object',
        last_error_is_null: true,
        lease_owner: null,
        lease_expires_at: null,
        fencing_token: c.fencingToken,
      });
      const stored = await load(c.id);
      const { nextRunAt: _n, lastReconciledAt: _l, ...rest } = outcome;
      expect(stored).toMatchObject(rest);
      expect(stored.lastReconciledAt?.toISOString()).toBe(reconciledAt.toISOString());
      expect(stored.nextRunAt.toISOString()).toBe(nextRunAt.toISOString());
    });

    it('writes a null jsonb as SQL NULL, not as a JSON null', async () => {
      await ds.query(`UPDATE target SET counts = '{"applied":9}' WHERE id = $1`, [targetIds[0]]);
      const c = await claim();
      expect(
        await sut.complete(c, 'replica-a', { nextRunAt: later(), counts: null }, undefined),
      ).toBe(true);
      const [row] = await ds.query<{ is_null: boolean }[]>(
        'SELECT counts IS NULL AS is_null FROM target WHERE id = $1',
        [c.id],
      );
      expect(row.is_null).toBe(true);
    });

    it('keeps the stored value of fields absent or undefined in the outcome', async () => {
      await ds.query(
        `UPDATE target SET applied_revision = 'main@sha1:old', applied_digest = 'sha256:old',
           observed_generation = 2, conditions = '[{"type":"Ready","status":"False","reason":"Old","message":"","lastTransitionTime":"2026-01-01T00:00:00.000Z"}]',
           ready_status = 'False', counts = '{"applied":1,"unchanged":0,"pruned":0,"drifted":0}',
           last_duration_ms = 77, last_error = 'old error',
           inventory = '[{"group":"","version":"v1","kind":"Secret","name":"keep"}]',
           failure_count = 2, last_reconciled_at = '2026-01-01T00:00:00Z'
         WHERE id = $1`,
        [targetIds[0]],
      );
      const before = await load(targetIds[0]);
      const c = await claim();
      const nextRunAt = later();

      expect(
        await sut.complete(
          c,
          'replica-a',
          {
            nextRunAt,
            lastResult: 'Failed',
            failureCount: 3,
            appliedRevision: undefined,
            inventory: undefined,
            counts: undefined,
            lastError: undefined,
          },
          undefined,
        ),
      ).toBe(true);

      const after = await load(c.id);
      expect(after).toMatchObject({
        lastResult: 'Failed',
        failureCount: 3,
        appliedRevision: 'main@sha1:old',
        appliedDigest: 'sha256:old',
        observedGeneration: 2,
        conditions: before.conditions,
        readyStatus: 'False',
        counts: { applied: 1, unchanged: 0, pruned: 0, drifted: 0 },
        lastDurationMs: 77,
        lastError: 'old error',
        inventory: [{ group: '', version: 'v1', kind: 'Secret', name: 'keep' }],
        lastReconciledAt: before.lastReconciledAt,
        leaseOwner: null,
        leaseExpiresAt: null,
      });
      expect(after.nextRunAt.toISOString()).toBe(nextRunAt.toISOString());
    });

    it('writes the history row with its column types', async () => {
      const c = await claim();
      const r = run(1, {
        result: 'Failed',
        reason: 'ApplyFailed',
        message: 'denied',
        revision: null,
        counts: { applied: 1, unchanged: 0, pruned: 0, drifted: 1 },
        drift: [{ object: 'apps/v1/Deployment/apps/web', fields: ['spec.replicas'] }],
      });
      expect(await sut.complete(c, 'replica-a', { nextRunAt: later() }, r)).toBe(true);

      const [types] = await ds.query<Record<string, unknown>[]>(
        `SELECT jsonb_typeof(counts) AS counts, jsonb_typeof(drift) AS drift
         FROM target_run WHERE target_id = $1`,
        [c.id],
      );
      expect(types).toEqual({ counts: 'object', drift: 'array' });
      const [stored] = await ds.getRepository(TargetRunEntity).findBy({ targetId: c.id });
      expect(stored).toMatchObject({ ...r, targetId: c.id });
      expect(stored.startedAt.toISOString()).toBe(r.startedAt.toISOString());
      expect(await runsOf(targetIds[1])).toEqual([]);
    });
  });

  describe('only while the lease is ours', () => {
    it('rejects a write by another owner', async () => {
      const c = await claim('replica-a');
      const before = await snapshot(c.id);
      expect(
        await sut.complete(c, 'replica-b', { nextRunAt: later(), lastResult: 'Failed' }, run(1)),
      ).toBe(false);
      expect(await snapshot(c.id)).toEqual(before);
      expect(await runsOf(c.id)).toEqual([]);
    });

    it('rejects a write with a stale fencing token, even by the same owner', async () => {
      const stale = await claim('replica-a');
      await expireLease(stale.id);
      const fresh = await claim('replica-a');
      expect(BigInt(fresh.fencingToken)).toBeGreaterThan(BigInt(stale.fencingToken));
      const before = await snapshot(stale.id);

      expect(
        await sut.complete(
          stale,
          'replica-a',
          { nextRunAt: later(), lastResult: 'Failed' },
          run(1),
        ),
      ).toBe(false);
      expect(await snapshot(stale.id)).toEqual(before);
      expect(await runsOf(stale.id)).toEqual([]);

      // The current holder still writes.
      expect(
        await sut.complete(
          fresh,
          'replica-a',
          { nextRunAt: later(), lastResult: 'Succeeded' },
          run(2),
        ),
      ).toBe(true);
      expect((await load(fresh.id)).lastResult).toBe('Succeeded');
      expect((await runsOf(fresh.id)).map((r) => r.revision)).toEqual(['main@sha1:2']);
    });

    it('rejects a write after the lease expired', async () => {
      const c = await claim('replica-a');
      await expireLease(c.id);
      const before = await snapshot(c.id);
      expect(
        await sut.complete(c, 'replica-a', { nextRunAt: later(), lastResult: 'Failed' }, run(1)),
      ).toBe(false);
      expect(await snapshot(c.id)).toEqual(before);
      expect(await runsOf(c.id)).toEqual([]);
    });

    it('rejects a second write with the same claim: the first released the lease', async () => {
      const c = await claim();
      expect(await sut.complete(c, 'replica-a', { nextRunAt: later() }, run(1))).toBe(true);
      const before = await snapshot(c.id);
      expect(
        await sut.complete(c, 'replica-a', { nextRunAt: past(), lastResult: 'Failed' }, run(2)),
      ).toBe(false);
      expect(await snapshot(c.id)).toEqual(before);
      expect((await runsOf(c.id)).map((r) => r.revision)).toEqual(['main@sha1:1']);
    });
  });

  describe('history', () => {
    async function completeMany(
      from: number,
      to: number,
      afterWrite?: (m: EntityManager) => Promise<void>,
    ): Promise<void> {
      for (let i = from; i < to; i++) {
        const c = await claim();
        // Due again right away, so the next claimDue takes it.
        expect(await sut.complete(c, 'replica-a', { nextRunAt: past() }, run(i), afterWrite)).toBe(
          true,
        );
      }
    }

    it(`keeps exactly the newest ${HISTORY_LIMIT} runs`, async () => {
      await completeMany(0, 13);
      const runs = await runsOf(targetIds[0]);
      expect(runs.map((r) => r.revision)).toEqual(
        Array.from({ length: HISTORY_LIMIT }, (_, k) => `main@sha1:${12 - k}`),
      );
    });

    it('keeps the newest runs on the transactional path as well', async () => {
      await completeMany(0, 13, () => Promise.resolve());
      const runs = await runsOf(targetIds[0]);
      expect(runs.map((r) => r.revision)).toEqual(
        Array.from({ length: HISTORY_LIMIT }, (_, k) => `main@sha1:${12 - k}`),
      );
    });

    it("trims only the completed target's history", async () => {
      const other = targetIds[1];
      await ds.query(
        `INSERT INTO target_run (id, target_id, started_at, duration_ms, revision, result, reason)
         SELECT gen_random_uuid(), $1, now() - make_interval(secs => i), 1, 'other-' || i, 'Succeeded', 'R'
         FROM generate_series(1, 12) AS i`,
        [other],
      );
      await completeMany(0, 13);
      expect(await runsOf(targetIds[0])).toHaveLength(HISTORY_LIMIT);
      expect(await runsOf(other)).toHaveLength(12);
    });

    it('neither adds nor trims history when the write is rejected', async () => {
      await completeMany(0, HISTORY_LIMIT);
      const before = await runsOf(targetIds[0]);
      const c = await claim();
      await expireLease(c.id);
      expect(await sut.complete(c, 'replica-a', { nextRunAt: past() }, run(50))).toBe(false);
      expect(await runsOf(targetIds[0])).toEqual(before);
    });

    it('writes no history row when no run is given', async () => {
      const c = await claim();
      expect(
        await sut.complete(
          c,
          'replica-a',
          { nextRunAt: later(), lastResult: 'Skipped' },
          undefined,
        ),
      ).toBe(true);
      expect(await runsOf(c.id)).toEqual([]);
      expect((await load(c.id)).lastResult).toBe('Skipped');
    });
  });

  describe('with afterWrite (events)', () => {
    const event = (reason: string): NewEvent => ({
      tenantId,
      objectKind: 'Target',
      objectName: 'web/prod-eu',
      severity: 'info',
      reason,
      message: reason,
      revision: null,
    });

    const eventReasons = async (): Promise<string[]> =>
      (await ds.query<{ reason: string }[]>('SELECT reason FROM event ORDER BY reason')).map(
        (r) => r.reason,
      );

    it('inserts events given to the statement itself, only when the write happens', async () => {
      const c = await claim();
      const withMetadata: NewEvent = {
        ...event('NewRevision'),
        severity: 'error',
        revision: 'main@sha1:abc',
        metadata: { counts: { applied: 2 } },
        occurredAt: new Date('2026-03-04T05:06:07.891Z'),
      };
      expect(
        await sut.complete(c, 'replica-a', { nextRunAt: later() }, run(1), undefined, [
          withMetadata,
          event('DriftCorrected'),
        ]),
      ).toBe(true);
      expect(await eventReasons()).toEqual(['DriftCorrected', 'NewRevision']);
      const [stored] = await ds.query<Record<string, unknown>[]>(
        `SELECT tenant_id, object_kind, object_name, severity, message, revision, metadata, occurred_at
         FROM event WHERE reason = 'NewRevision'`,
      );
      expect(stored).toEqual({
        tenant_id: tenantId,
        object_kind: 'Target',
        object_name: 'web/prod-eu',
        severity: 'error',
        message: 'NewRevision',
        revision: 'main@sha1:abc',
        metadata: { counts: { applied: 2 } },
        occurred_at: new Date('2026-03-04T05:06:07.891Z'),
      });
      // The lease is gone now: a second completion writes nothing, events included.
      expect(
        await sut.complete(c, 'replica-a', { nextRunAt: later() }, run(2), undefined, [
          event('Lost'),
        ]),
      ).toBe(false);
      expect(await eventReasons()).toEqual(['DriftCorrected', 'NewRevision']);
    });

    it('runs in the same transaction as the write, and commits with it', async () => {
      const c = await claim();
      let seenInside: { last_result: string; runs: number } | undefined;
      let seenOutside: { last_result: string | null; runs: number } | undefined;
      const written = await sut.complete(
        c,
        'replica-a',
        { nextRunAt: later(), lastResult: 'Succeeded' },
        run(1),
        async (manager) => {
          const q = `SELECT last_result, (SELECT count(*)::int FROM target_run WHERE target_id = t.id) AS runs
                     FROM target t WHERE id = $1`;
          [seenInside] = await manager.query(q, [c.id]);
          // Another connection does not see the uncommitted write yet.
          [seenOutside] = await ds.query(q, [c.id]);
          await events.insert([event('ReconciliationSucceeded')], manager);
        },
      );
      expect(written).toBe(true);
      expect(seenInside).toEqual({ last_result: 'Succeeded', runs: 1 });
      expect(seenOutside).toEqual({ last_result: null, runs: 0 });
      expect((await load(c.id)).lastResult).toBe('Succeeded');
      expect(await runsOf(c.id)).toHaveLength(1);
      expect(await eventReasons()).toEqual(['ReconciliationSucceeded']);
    });

    it('rolls back the target update, the history row and the trim when afterWrite throws', async () => {
      for (let i = 0; i < HISTORY_LIMIT; i++) {
        const c = await claim();
        expect(await sut.complete(c, 'replica-a', { nextRunAt: past() }, run(i))).toBe(true);
      }
      const runsBefore = await runsOf(targetIds[0]);
      const c = await claim();
      const before = await snapshot(c.id);

      await expect(
        sut.complete(
          c,
          'replica-a',
          { nextRunAt: later(), lastResult: 'Failed', lastError: 'boom', inventory: [] },
          run(99),
          async (manager) => {
            await events.insert([event('ReconciliationFailed')], manager);
            throw new Error('event store down');
          },
        ),
      ).rejects.toThrow('event store down');

      expect(await snapshot(c.id)).toEqual(before);
      expect(await runsOf(c.id)).toEqual(runsBefore);
      expect(await eventReasons()).toEqual([]);
      // Still our lease: the holder can write again.
      expect(await sut.complete(c, 'replica-a', { nextRunAt: later() }, run(100))).toBe(true);
    });

    it('does not call afterWrite when the lease was lost', async () => {
      const stale = await claim('replica-a');
      await expireLease(stale.id);
      const fresh = await claim('replica-b');
      let called = 0;
      const afterWrite = async (manager: EntityManager): Promise<void> => {
        called++;
        await events.insert([event('ReconciliationSucceeded')], manager);
      };

      const held = await snapshot(stale.id);
      // A stale token, and the current token under the wrong owner.
      expect(
        await sut.complete(stale, 'replica-a', { nextRunAt: later() }, run(1), afterWrite),
      ).toBe(false);
      expect(
        await sut.complete(fresh, 'replica-a', { nextRunAt: later() }, run(2), afterWrite),
      ).toBe(false);
      expect(await snapshot(stale.id)).toEqual(held);

      // The right owner and token, but the lease ran out.
      await expireLease(fresh.id);
      const expired = await snapshot(stale.id);
      expect(
        await sut.complete(fresh, 'replica-b', { nextRunAt: later() }, run(3), afterWrite),
      ).toBe(false);
      expect(await snapshot(stale.id)).toEqual(expired);

      expect(called).toBe(0);
      expect(await eventReasons()).toEqual([]);
      expect(await runsOf(stale.id)).toEqual([]);
    });
  });

  describe('reconcile requests', () => {
    it('runs a target again at once when a request arrives while it runs', async () => {
      const c = await claim();
      // A new revision or a user asks while the run is in flight.
      expect(
        await targets.enqueue(tenantId, { targetId: targetIds[0] }, undefined, { freshRead: true }),
      ).toBe(1);
      expect(await sut.complete(c, 'replica-a', { nextRunAt: later() }, run(1))).toBe(true);
      const after = await load(targetIds[0]);
      expect(after.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(after.reconcileRequestedAt).not.toBeNull();
      expect(after.freshReadRequested).toBe(true);
      // The run that follows answers the request: the interval applies again, the marks go.
      const next = await claim();
      const nextRunAt = later();
      expect(await sut.complete(next, 'replica-a', { nextRunAt }, run(2))).toBe(true);
      const settled = await load(targetIds[0]);
      expect(settled.nextRunAt.toISOString()).toBe(nextRunAt.toISOString());
      expect(settled.reconcileRequestedAt).toBeNull();
      expect(settled.freshReadRequested).toBe(false);
    });

    it('answers a request made before the claim with this run', async () => {
      await targets.enqueue(tenantId, { targetId: targetIds[0] });
      const c = await claim();
      const nextRunAt = later();
      expect(await sut.complete(c, 'replica-a', { nextRunAt }, undefined)).toBe(true);
      const after = await load(targetIds[0]);
      expect(after.nextRunAt.toISOString()).toBe(nextRunAt.toISOString());
      expect(after.reconcileRequestedAt).toBeNull();
      expect(after.freshReadRequested).toBe(false);
    });

    it('makes a target that is not due due now, without touching other releases', async () => {
      expect(await targets.enqueue(tenantId, { targetId: targetIds[1] })).toBe(1);
      const row = await load(targetIds[1]);
      expect(row.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(row.freshReadRequested).toBe(false);
      expect(await targets.enqueue(tenantId, { releaseIds: [] })).toBe(0);
    });
  });
});
