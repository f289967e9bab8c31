import { describe, expect, it } from 'vitest';
import { mapLimit } from './map-limit';

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return `${i}:${n}`;
    });
    expect(peak).toBe(2);
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3']);
  });

  it('starts no new item once stop() is true and leaves those undefined', async () => {
    const seen: number[] = [];
    const out = await mapLimit(
      [1, 2, 3, 4],
      1,
      (n) => {
        seen.push(n);
        return Promise.resolve(n * 10);
      },
      () => seen.length >= 2,
    );
    expect(seen).toEqual([1, 2]);
    expect(out).toEqual([10, 20, undefined, undefined]);
  });

  it('handles an empty list', async () => {
    expect(await mapLimit([], 4, () => Promise.resolve(1))).toEqual([]);
  });
});
