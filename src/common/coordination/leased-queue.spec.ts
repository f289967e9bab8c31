import { describe, expect, it } from 'vitest';
import { TestClock } from 'test/support/coordination/test-clock';
import { LeasedQueue, type QueryFn } from './leased-queue';

const TABLE = { table: 'target', partitionColumn: 'cluster_id', partitionType: 'uuid' };
const LEASE_MS = 10_000;

/** A database that answers the claim with the given rows and fails writes while `down`. */
function setup() {
  const clock = new TestClock();
  const statements: { sql: string; params: unknown[] }[] = [];
  const state = { down: false, refused: false, rowCount: 1 };
  const query: QueryFn = <T>(sql: string, params: unknown[]): Promise<T> => {
    statements.push({ sql, params });
    if (sql.includes('FOR UPDATE OF q SKIP LOCKED')) {
      return Promise.resolve([[{ id: 't1', fencing_token: '7' }], 1] as T);
    }
    if (state.refused) {
      // The database answered: the statement itself is wrong.
      return Promise.reject(Object.assign(new Error('syntax error'), { code: '42601' }));
    }
    if (state.down) {
      return Promise.reject(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      );
    }
    return Promise.resolve([[], state.rowCount] as T);
  };
  const sut = new LeasedQueue(TABLE, query, clock, { firstDelayMs: 100, maxDelayMs: 1_000 });
  return { sut, clock, statements, state };
}

const claimRequest = {
  owner: 'replica-a',
  limit: 4,
  leaseMs: LEASE_MS,
  perPartition: 2,
  running: new Map([
    ['c-busy', 2],
    ['c-half', 1],
  ]),
  returning: 't.id, t.fencing_token',
};

describe(LeasedQueue.name, () => {
  it('claims at most the free slots, and per partition only what is left of its limit', async () => {
    const { sut, statements } = setup();
    expect(await sut.claim(claimRequest)).toEqual([{ id: 't1', fencing_token: '7' }]);
    const [claim] = statements;
    expect(claim?.sql).toContain('row_number() OVER (PARTITION BY cluster_id');
    expect(claim?.sql).toContain('FOR UPDATE OF q SKIP LOCKED');
    // owner, free slots, lease, partitions already running here, their allowance, the limit.
    expect(claim?.params).toEqual(['replica-a', 4, LEASE_MS, ['c-busy', 'c-half'], [0, 1], 2]);
  });

  it('asks nothing of the database without a free slot', async () => {
    const { sut, statements } = setup();
    expect(await sut.claim({ ...claimRequest, limit: 0 })).toEqual([]);
    expect(statements).toEqual([]);
  });

  it('retries a fenced write while the database does not answer, and succeeds once it does', async () => {
    const { sut, clock, state, statements } = setup();
    await sut.claim(claimRequest);
    state.down = true;
    let deleted: boolean | undefined;
    const write = sut.delete({ id: 't1', fencingToken: '7' }, 'replica-a').then((d) => {
      deleted = d;
    });
    await clock.advance(4_000);
    expect(deleted).toBeUndefined();
    state.down = false;
    await clock.advance(1_000);
    await write;
    expect(deleted).toBe(true);
    // 100, 200, 400, 800 ms, then every second: a few attempts, not a busy loop.
    const attempts = statements.filter((s) => s.sql.startsWith('DELETE')).length;
    expect(attempts).toBeGreaterThan(4);
    expect(attempts).toBeLessThan(12);
  });

  it("gives up when the lease would have run out: the row is then another replica's", async () => {
    const { sut, clock, state } = setup();
    await sut.claim(claimRequest);
    state.down = true;
    let failure: unknown;
    const write = sut
      .release({ id: 't1', fencingToken: '7' }, 'replica-a', new Date(0))
      .catch((error: unknown) => (failure = error));
    await clock.advance(LEASE_MS);
    await write;
    expect(failure).toBeInstanceOf(Error);
    expect(clock.now() - Date.UTC(2026, 0, 1)).toBeLessThanOrEqual(LEASE_MS);
  });

  it('does not retry what the database refused, nor a claim it does not hold', async () => {
    const { sut, state, statements } = setup();
    await sut.claim(claimRequest);
    state.refused = true;
    await expect(sut.delete({ id: 't1', fencingToken: '7' }, 'replica-a')).rejects.toThrow(
      'syntax error',
    );
    state.refused = false;
    state.down = true;
    await expect(sut.delete({ id: 'other', fencingToken: '1' }, 'replica-a')).rejects.toThrow(
      'ECONNREFUSED',
    );
    expect(statements.filter((s) => s.sql.startsWith('DELETE'))).toHaveLength(2);
  });

  it('fences renewals and extends the retry bound with the lease', async () => {
    const { sut, clock, state, statements } = setup();
    await sut.claim(claimRequest);
    await clock.advance(8_000);
    expect(await sut.renew({ id: 't1', fencingToken: '7' }, 'replica-a', LEASE_MS)).toBe(true);
    expect(statements.at(-1)?.sql).toContain('fencing_token = $3 AND lease_expires_at > now()');
    state.down = true;
    let done = false;
    const write = sut.delete({ id: 't1', fencingToken: '7' }, 'replica-a').finally(() => {
      done = true;
    });
    // Past the first lease's end, still within the renewed one: still retrying.
    await clock.advance(5_000);
    expect(done).toBe(false);
    state.down = false;
    await clock.advance(1_000);
    expect(await write).toBe(true);
  });
});
