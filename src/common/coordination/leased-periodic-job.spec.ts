import { describe, expect, it } from 'vitest';
import type { HeldLease, LeaseRepository } from 'src/common/database/lease.repository';
import { TestClock } from 'test/support/coordination/test-clock';
import { LeasedPeriodicJob, type JobTick, type PeriodicJobOptions } from './leased-periodic-job';

/** An in-memory lease table shared by the "replicas" of one spec. */
class FakeLeases implements Pick<LeaseRepository, 'tryAcquire' | 'release'> {
  holder: string | undefined;
  down = false;
  released: string[] = [];

  tryAcquire(name: string, holder: string, ttlMs: number): Promise<HeldLease | undefined> {
    if (this.down) {
      return Promise.reject(new Error('connection refused'));
    }
    this.holder ??= holder;
    return Promise.resolve(
      this.holder === holder
        ? { name, holder, fencingToken: 1n, expiresAt: new Date(Date.now() + ttlMs) }
        : undefined,
    );
  }

  release(name: string, holder: string): Promise<void> {
    if (this.holder === holder) {
      this.holder = undefined;
      this.released.push(name);
    }
    return Promise.resolve();
  }
}

function setup(
  options: Partial<PeriodicJobOptions> = {},
  replica = 'replica-a',
  leases = new FakeLeases(),
  clock = new TestClock(),
) {
  const ticks: JobTick[] = [];
  const sut = new LeasedPeriodicJob(
    {
      name: 'test job',
      intervalMs: 1_000,
      enabled: true,
      run: (tick) => {
        ticks.push(tick);
        return Promise.resolve();
      },
      ...options,
    },
    // The job uses only these two methods of the repository.
    leases as Pick<LeaseRepository, 'tryAcquire' | 'release'> as LeaseRepository,
    clock,
    replica,
  );
  return { sut, ticks, leases, clock };
}

describe(LeasedPeriodicJob.name, () => {
  it('ticks after the initial delay and then every interval', async () => {
    const { sut, ticks, clock } = setup({ initialDelayMs: 500 });
    sut.start();
    await clock.advance(499);
    expect(ticks).toHaveLength(0);
    await clock.advance(1);
    expect(ticks).toHaveLength(1);
    await clock.advance(3_000);
    expect(ticks).toHaveLength(4);
    await sut.stop();
  });

  it('spreads the interval by its jitter, never beyond it', async () => {
    const clock = new TestClock();
    const at: number[] = [];
    const { sut } = setup(
      {
        jitter: 0.5,
        run: () => {
          at.push(clock.now());
          return Promise.resolve();
        },
      },
      'replica-a',
      new FakeLeases(),
      clock,
    );
    sut.start();
    await clock.advance(20_000);
    await sut.stop();
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    expect(gaps.length).toBeGreaterThan(10);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(500);
      expect(gap).toBeLessThanOrEqual(1_500);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1);
  });

  it('does nothing when disabled (the kill switch)', async () => {
    const { sut, ticks, clock } = setup({ enabled: false });
    sut.start();
    await clock.advance(10_000);
    expect(ticks).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });

  it('runs only on the replica holding the lease, unless asked to run everywhere', async () => {
    const leases = new FakeLeases();
    const clock = new TestClock();
    const lease = { name: 'job-lease', ttlMs: 3_000 };
    const a = setup({ lease }, 'replica-a', leases, clock);
    const b = setup({ lease }, 'replica-b', leases, clock);
    const c = setup({ lease: { ...lease, runWhenNotHeld: true } }, 'replica-c', leases, clock);
    expect(await a.sut.runOnce()).toBe('ran');
    expect(await b.sut.runOnce()).toBe('notHeld');
    expect(await c.sut.runOnce()).toBe('ran');
    expect(a.ticks.map((t) => t.lease)).toEqual(['held']);
    expect(b.ticks).toHaveLength(0);
    expect(c.ticks.map((t) => t.lease)).toEqual(['notHeld']);

    leases.down = true;
    expect(await a.sut.runOnce()).toBe('notHeld');
    expect(await c.sut.runOnce()).toBe('ran');
    expect(c.ticks.map((t) => t.lease)).toEqual(['notHeld', 'unavailable']);
  });

  it('never runs two ticks at once', async () => {
    let finish: () => void = () => undefined;
    const { sut } = setup({ run: () => new Promise<void>((resolve) => (finish = resolve)) });
    const first = sut.runOnce();
    expect(await sut.runOnce()).toBe('busy');
    finish();
    expect(await first).toBe('ran');
  });

  it('drains the running tick on stop, bounded by the drain timeout, then hands the lease back', async () => {
    const leases = new FakeLeases();
    const clock = new TestClock();
    const { sut } = setup(
      {
        lease: { name: 'job-lease', ttlMs: 3_000 },
        drainTimeoutMs: 2_000,
        run: () => new Promise<void>(() => undefined),
      },
      'replica-a',
      leases,
      clock,
    );
    void sut.runOnce();
    await clock.advance(0);
    let stopped = false;
    const stopping = sut.stop().then(() => (stopped = true));
    await clock.advance(1_999);
    expect(stopped).toBe(false);
    expect(leases.released).toEqual([]);
    await clock.advance(1);
    await stopping;
    expect(leases.released).toEqual(['job-lease']);
    expect(await sut.runOnce()).toBe('stopped');
  });

  it('reports a lease lost to another replica when a long tick renews it', async () => {
    const leases = new FakeLeases();
    let renewal: Promise<void> = Promise.resolve();
    const { sut } = setup(
      {
        lease: { name: 'job-lease', ttlMs: 3_000 },
        run: (tick) => {
          leases.holder = 'replica-b';
          renewal = tick.renew();
          return renewal.catch(() => undefined);
        },
      },
      'replica-a',
      leases,
    );
    await sut.runOnce();
    await expect(renewal).rejects.toThrow('job-lease lease passed to another replica');
  });
});
