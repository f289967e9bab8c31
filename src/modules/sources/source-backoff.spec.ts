import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_SECONDS, retryDelaySeconds } from 'src/modules/sources/source-backoff';

const policy = { baseSeconds: 5, maxSeconds: 600 };
const retryable = (failureCount: number, extra = {}) => ({
  failureCount,
  retryable: true,
  intervalSeconds: 300,
  ...extra,
});

describe('retryDelaySeconds', () => {
  it('doubles per failure, between half and all of the ceiling', () => {
    expect(retryDelaySeconds(retryable(1), policy, () => 0)).toBe(2.5);
    expect(retryDelaySeconds(retryable(1), policy, () => 1)).toBe(5);
    expect(retryDelaySeconds(retryable(2), policy, () => 1)).toBe(10);
    expect(retryDelaySeconds(retryable(4), policy, () => 0.5)).toBe(30);
  });

  it('is capped, even after very many failures', () => {
    expect(retryDelaySeconds(retryable(8), policy, () => 1)).toBe(600);
    expect(retryDelaySeconds(retryable(10_000), policy, () => 1)).toBe(600);
    expect(retryDelaySeconds(retryable(10_000), policy, () => 0)).toBe(300);
  });

  it('spreads sources failing together', () => {
    const delays = new Set(
      Array.from({ length: 20 }, (_, i) => retryDelaySeconds(retryable(3), policy, () => i / 20)),
    );
    expect(delays.size).toBe(20);
  });

  it('honours Retry-After as a lower bound, up to one day', () => {
    expect(retryDelaySeconds(retryable(1, { retryAfterSeconds: 120 }), policy, () => 1)).toBe(120);
    expect(retryDelaySeconds(retryable(8, { retryAfterSeconds: 1 }), policy, () => 1)).toBe(600);
    expect(retryDelaySeconds(retryable(1, { retryAfterSeconds: 10 ** 9 }), policy, () => 1)).toBe(
      MAX_RETRY_AFTER_SECONDS,
    );
  });

  it('waits at least an interval after a failure retrying cannot fix', () => {
    const input = { failureCount: 1, retryable: false, intervalSeconds: 300 };
    expect(retryDelaySeconds(input, policy, () => 0)).toBe(300);
    expect(retryDelaySeconds({ ...input, failureCount: 9 }, policy, () => 1)).toBe(600);
  });
});
