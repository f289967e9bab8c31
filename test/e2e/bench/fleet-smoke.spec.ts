import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, runFleetBench } from 'test/bench/fleet/fleet-bench';
import { formatReport, goalRows } from 'test/bench/fleet/fleet-report';

// The fleet benchmark's code path at a tiny scale: every phase completes and
// every figure is well-formed. No timing assertions (see docs/benchmarks.md).
describe('the fleet benchmark at 3 clusters × 3 releases × 3 objects', () => {
  it('runs every phase and reports well-formed figures', { timeout: 240_000 }, async () => {
    const result = await runFleetBench({
      ...DEFAULT_OPTIONS,
      clusters: 3,
      releases: 3,
      objectsPerRelease: 3,
      unreachableFraction: 0.34,
      intervalSeconds: 10,
      steadyIntervals: 2,
      listTargets: 60,
      listPageSize: 7,
      convergeTimeoutMs: 90_000,
      log: () => undefined,
    });

    for (const phase of [result.cold, result.update]) {
      expect(phase.targets).toBe(9);
      expect(phase.seconds).toBeGreaterThan(0);
      expect(Number.isFinite(phase.targetP95Seconds)).toBe(true);
      expect(phase.cpuSeconds).toBeGreaterThan(0);
    }
    expect(result.steady.targets).toBe(9);
    expect(result.steady.reconciles).toBeGreaterThan(0);
    expect(Number.isFinite(result.steady.requestsPerTargetPerInterval)).toBe(true);
    expect(result.steady.writes).toBeGreaterThanOrEqual(0);
    expect(result.resources.peakRssMiB).toBeGreaterThan(0);
    expect(result.resources.targetRows).toBe(9);
    expect(result.resources.bytesPerTarget).toBeGreaterThan(0);
    expect(result.isolation?.unreachableClusters).toBe(1);
    expect(result.isolation?.reachableTargets).toBe(6);
    expect(Number.isFinite(result.isolation?.ratio)).toBe(true);
    expect(result.api.targets).toBeGreaterThanOrEqual(60);
    expect(result.api.seededTargets).toBeGreaterThan(0);
    expect(result.api.byQuery.all?.pages).toBe(Math.ceil(result.api.targets / 7));
    expect(Number.isFinite(result.api.p95Ms)).toBe(true);
    expect(goalRows(result).length).toBeGreaterThan(5);
    expect(formatReport(result)).toContain('cold converge');
  });
});
