/**
 * Counts failed authentications per client address in fixed one-minute
 * windows. Memory is bounded: when too many clients are tracked, the oldest
 * windows are dropped first.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 10_000,
  ) {}

  blocked(client: string): boolean {
    const w = this.current(client);
    return w !== undefined && w.failures >= this.perMinute;
  }

  fail(client: string): void {
    const w = this.current(client);
    if (w !== undefined) {
      w.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxClients) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) {
        this.windows.delete(oldest);
      }
    }
    this.windows.set(client, { start: this.now(), failures: 1 });
  }

  private current(client: string): { start: number; failures: number } | undefined {
    const w = this.windows.get(client);
    if (w !== undefined && this.now() - w.start >= 60_000) {
      this.windows.delete(client);
      return undefined;
    }
    return w;
  }
}
