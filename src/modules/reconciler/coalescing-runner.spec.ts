import { describe, expect, it } from 'vitest';
import { CoalescingRunner } from './coalescing-runner';

/** A runner whose runs wait until the test lets each one finish. */
function setup() {
  const passes: { key: string; finish: () => void }[] = [];
  const sut = new CoalescingRunner<string>(
    (key) => new Promise<void>((resolve) => passes.push({ key, finish: resolve })),
  );
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return { sut, passes, tick };
}

describe(CoalescingRunner.name, () => {
  it('runs one follow-up pass for all requests made while a pass runs', async () => {
    const { sut, passes, tick } = setup();
    const first = sut.request('tenant-1');
    await tick();
    const followers = [sut.request('tenant-1'), sut.request('tenant-1'), sut.request('tenant-1')];
    expect(passes).toHaveLength(1);
    passes[0].finish();
    await first;
    await tick();
    expect(passes).toHaveLength(2);
    passes[1].finish();
    await Promise.all(followers);
    expect(passes).toHaveLength(2);
  });

  it('shares one pass between requests made before it started', async () => {
    const { sut, passes, tick } = setup();
    const burst = [sut.request('tenant-1'), sut.request('tenant-1')];
    await tick();
    expect(passes).toHaveLength(1);
    passes[0].finish();
    await Promise.all(burst);
    expect(passes).toHaveLength(1);
  });

  it('runs different keys side by side, and carries on after a failed pass', async () => {
    const failing = new CoalescingRunner<string>((key) =>
      key === 'bad' ? Promise.reject(new Error('database unavailable')) : Promise.resolve(),
    );
    await expect(failing.request('bad')).resolves.toBeUndefined();
    await expect(failing.request('bad')).resolves.toBeUndefined();

    const { sut, passes, tick } = setup();
    const a = sut.request('tenant-1');
    const b = sut.request('tenant-2');
    await tick();
    expect(passes.map((p) => p.key)).toEqual(['tenant-1', 'tenant-2']);
    passes.forEach((p) => p.finish());
    await Promise.all([a, b]);
  });
});
