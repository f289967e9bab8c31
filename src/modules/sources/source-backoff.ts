/** Longest wait a host's `Retry-After` may impose on a source. */
export const MAX_RETRY_AFTER_SECONDS = 24 * 3600;

export interface BackoffPolicy {
  readonly baseSeconds: number;
  readonly maxSeconds: number;
}

export interface RetryInput {
  /** Consecutive failures including this one (>= 1). */
  readonly failureCount: number;
  /** Transient failures retry with backoff; others wait at least for the interval. */
  readonly retryable: boolean;
  readonly intervalSeconds: number;
  /** Seconds the host asked for (`Retry-After`), if any. */
  readonly retryAfterSeconds?: number;
}

/**
 * Seconds until the next fetch after a failure: base·2^(n−1), capped, with "equal
 * jitter" (between half and all of it) so that sources failing together do not
 * retry together. Non-retryable failures (wrong credentials, missing branch, limits)
 * wait at least one interval, so a broken spec does not hammer the host.
 * A host's Retry-After is honoured as a lower bound.
 */
export function retryDelaySeconds(
  input: RetryInput,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(input.failureCount, 1) - 1, 30);
  const ceiling = Math.min(policy.baseSeconds * 2 ** exponent, policy.maxSeconds);
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  let delay = input.retryable ? jittered : Math.max(jittered, input.intervalSeconds);
  if (input.retryAfterSeconds !== undefined && input.retryAfterSeconds > 0) {
    delay = Math.max(delay, Math.min(input.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS));
  }
  return delay;
}
