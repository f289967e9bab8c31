import { describe, expect, it } from 'vitest';
import { startupDelays } from './startup-spread';

describe('start-up spread of newly found clusters', () => {
  it('spreads registrations evenly over the window', () => {
    const sut = startupDelays(4, 60_000, () => 0);
    expect(sut).toEqual([0, 15_000, 30_000, 45_000]);
  });

  it('keeps jitter within one step and every delay inside the window', () => {
    const sut = startupDelays(1000, 10_000, () => 0.999);
    expect(Math.max(...sut)).toBeLessThan(10_000);
    for (let i = 1; i < sut.length; i++) {
      expect(sut[i]).toBeGreaterThanOrEqual(sut[i - 1]);
    }
  });

  it('starts a single cluster, or any cluster without a window, at once', () => {
    expect(startupDelays(1, 60_000)).toEqual([0]);
    expect(startupDelays(3, 0)).toEqual([0, 0, 0]);
  });
});
