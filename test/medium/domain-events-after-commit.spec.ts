import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { DomainEvent, DomainEventBus } from 'src/common/events/domain-event-bus';
import { TenantRepository } from 'src/tenants/tenant.repository';
import { TenantDeletionRequested } from 'src/tenants/tenants.events';
import { TenantsService } from 'src/tenants/tenants.service';
import { createTestDatabase } from 'test/support/database/test-database';

class Marked extends DomainEvent {
  constructor(readonly id: number) {
    super();
  }
}

describe('domain events on PostgreSQL: delivered after COMMIT, never after a rollback', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let bus: DomainEventBus;
  const delivered: number[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Checked at COMMIT, so COMMIT itself can fail.
    await db.dataSource.query(
      'CREATE TABLE commit_check (id int, CONSTRAINT "UQ_commit_check" UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)',
    );
    bus = new DomainEventBus();
    bus.subscribe(Marked, (event) => {
      delivered.push(event.id);
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('a handler sees the committed change from another connection', async () => {
    const sut = new TenantsService(new TenantRepository(db.dataSource), bus);
    await sut.create({ name: 'leaving' });
    const seen: (Date | null)[] = [];
    bus.subscribe(TenantDeletionRequested, async (event) => {
      // A pooled connection other than the transaction's: only committed rows are visible.
      seen.push((await sut.getById(event.tenantId)).deletionRequestedAt);
    });
    await sut.delete('leaving', { cascade: true });
    await bus.idle();
    expect(seen).toEqual([expect.any(Date)]);
  });

  it('drops the events of a transaction that fails, and of one whose COMMIT fails', async () => {
    delivered.length = 0;
    await expect(
      runInTransaction(db.dataSource, async (m) => {
        await m.query('INSERT INTO commit_check VALUES (1)');
        bus.publish(new Marked(1));
        await m.query('SELECT 1/0');
      }),
    ).rejects.toThrow(/division by zero/);
    await expect(
      runInTransaction(db.dataSource, async (m) => {
        await m.query('INSERT INTO commit_check VALUES (2), (2)');
        bus.publish(new Marked(2));
      }),
    ).rejects.toThrow(/UQ_commit_check/);
    await runInTransaction(db.dataSource, async (m) => {
      await m.query('INSERT INTO commit_check VALUES (3)');
      bus.publish(new Marked(3));
    });
    await bus.idle();
    expect(delivered).toEqual([3]);
    expect(await db.dataSource.query('SELECT id FROM commit_check ORDER BY id')).toEqual([
      { id: 3 },
    ]);
  });
});
