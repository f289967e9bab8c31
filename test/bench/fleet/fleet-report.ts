import type { FleetBenchResult } from './fleet-bench';

export interface GoalRow {
  figure: string;
  value: string;
  goal: string;
  /** undefined: no goal at this scale. */
  met: boolean | undefined;
}

const MiB = 1024 ** 2;

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Each figure of a run next to its goal (goals of issue #9; some hold at one scale only). */
export function goalRows(r: FleetBenchResult): GoalRow[] {
  const o = r.options;
  const scale = `${o.clusters}×${o.releases}×${o.objectsPerRelease}`;
  const is50 = o.clusters === 50 && o.releases === 50 && o.objectsPerRelease === 5;
  const is100 = o.clusters === 100 && o.releases === 100 && o.objectsPerRelease === 5;
  const rows: GoalRow[] = [];
  const coldGoal = is50 ? 15 : is100 ? 180 : undefined;
  rows.push({
    figure: `cold converge (${scale}), release creation → all Ready`,
    value: `${fmt(r.cold.seconds)} s (target p50 ${fmt(r.cold.targetP50Seconds)} s, p95 ${fmt(r.cold.targetP95Seconds)} s)`,
    goal: coldGoal === undefined ? 'n/a at this scale' : `< ${coldGoal} s`,
    met: coldGoal === undefined ? undefined : r.cold.seconds < coldGoal,
  });
  rows.push({
    figure: `update converge (${scale}), refresh → all Ready at new revision`,
    value: `${fmt(r.update.seconds)} s (target p50 ${fmt(r.update.targetP50Seconds)} s, p95 ${fmt(r.update.targetP95Seconds)} s)`,
    goal: is100 ? '< 120 s' : 'n/a at this scale',
    met: is100 ? r.update.seconds < 120 : undefined,
  });
  rows.push({
    figure: 'gitfleet CPU during cold / update converge',
    value: `${fmt(r.cold.cpuSeconds)} s / ${fmt(r.update.cpuSeconds)} s (test clusters and git server ${fmt(r.cold.harnessCpuSeconds)} s / ${fmt(r.update.harnessCpuSeconds)} s; machine ${fmt(r.cold.machineBusyFraction * 100, 0)} % / ${fmt(r.update.machineBusyFraction * 100, 0)} % busy; PostgreSQL transactions per target ${fmt(r.cold.transactionsPerTarget)} / ${fmt(r.update.transactionsPerTarget)}; Kubernetes requests per target ${fmt(r.cold.requestsPerTarget)} / ${fmt(r.update.requestsPerTarget)})`,
    goal: '—',
    met: undefined,
  });
  rows.push({
    figure: 'steady state: Kubernetes writes',
    value: String(r.steady.writes) + (r.steady.logTruncated ? ' (request log truncated)' : ''),
    goal: '0',
    met: r.steady.writes === 0 && !r.steady.logTruncated,
  });
  const verbs = Object.entries(r.steady.byVerbPerTargetPerInterval)
    .map(([v, n]) => `${v} ${fmt(n, 2)}`)
    .join(', ');
  rows.push({
    figure: 'steady state: API requests per target per interval',
    value: `${fmt(r.steady.requestsPerTargetPerInterval, 2)} (${verbs || 'none'}; dry-runs ${r.steady.dryRuns}); ${fmt(r.steady.requestsPerReconcile, 2)} per run, ${r.steady.reconciles} runs for ${r.steady.targets * r.steady.intervals} target-intervals`,
    goal: '≤ 1',
    met: r.steady.requestsPerTargetPerInterval <= 1,
  });
  rows.push({
    figure: 'steady state: gitfleet CPU per interval',
    value: `${fmt(r.steady.cpuSecondsPerInterval, 2)} s per ${o.intervalSeconds} s (${r.steady.reconciles} reconciles in ${r.steady.intervals} intervals)`,
    goal: '—',
    met: undefined,
  });
  rows.push({
    figure: 'gitfleet peak RSS',
    value: `${fmt(r.resources.peakRssMiB, 0)} MiB`,
    goal: is100 ? '< 1024 MiB' : 'n/a at this scale (< 1 GiB at 100×100×5)',
    met: is100 ? r.resources.peakRssMiB < 1024 : undefined,
  });
  rows.push({
    figure: 'PostgreSQL per target (target + history rows)',
    value: `${fmt(r.resources.rowsPerTarget, 1)} rows, ${fmt(r.resources.bytesPerTarget / 1024, 1)} KiB (database ${fmt(r.resources.databaseBytes / MiB, 0)} MiB)`,
    goal: '—',
    met: undefined,
  });
  if (r.isolation !== null) {
    const i = r.isolation;
    rows.push({
      figure: `isolation: ${i.unreachableClusters} clusters ${i.mode === 'refused' ? 'refusing' : 'hanging'}, reachable converge vs healthy`,
      value: `${fmt(i.seconds)} s vs ${fmt(i.healthySeconds)} s = ${fmt(i.ratio, 2)}×`,
      goal: '≤ 1.2×',
      met: i.ratio <= 1.2,
    });
  }
  rows.push({
    figure: `API: list ${r.api.targets} targets, ${r.api.pageSize} per page (${r.api.requests} pages, 4 queries)`,
    value: `p50 ${fmt(r.api.p50Ms)} ms, p95 ${fmt(r.api.p95Ms)} ms`,
    goal: r.api.targets >= 10_000 ? 'p95 < 100 ms' : 'n/a below 10,000 targets',
    met: r.api.targets >= 10_000 ? r.api.p95Ms < 100 : undefined,
  });
  return rows;
}

export function formatReport(r: FleetBenchResult): string {
  const rows = goalRows(r);
  const head = ['figure', 'value', 'goal', ''];
  const cells = rows.map((row) => [
    row.figure,
    row.value,
    row.goal,
    row.met === undefined ? '' : row.met ? 'met' : 'MISSED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i])).join(' | ');
  const m = r.machine;
  return [
    `gitfleet fleet benchmark — ${r.startedAt}`,
    `machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}; load average at start ${m.loadAverage.join(' ')}, at end ${r.machineAtEnd.loadAverage.join(' ')}`,
    `run: ${r.options.clusters} clusters × ${r.options.releases} releases × ${r.options.objectsPerRelease} objects, API latency ${r.options.latencyMs} ms, interval ${r.options.intervalSeconds} s`,
    '',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...cells.map(line),
    '',
    `API by query: ${Object.entries(r.api.byQuery)
      .map(([q, f]) => `${q} ${f.pages} pages p50 ${fmt(f.p50Ms)} / p95 ${fmt(f.p95Ms)} ms`)
      .join('; ')}`,
    ...(['cold', 'update'] as const).map(
      (phase) =>
        `${phase} requests by verb and resource: ${Object.entries(r[phase].byVerbResource)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
    ),
    `steady requests by verb and resource: ${Object.entries(r.steady.byVerbResource)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  ].join('\n');
}
