import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, runFleetBench } from './fleet/fleet-bench';
import { formatReport, goalRows } from './fleet/fleet-report';

/**
 * `npm run bench:fleet -- --clusters 100 --releases 100 --objects 5`
 * Needs `npm run build` first (gitfleet runs from dist/) and PostgreSQL on 127.0.0.1:5432.
 */
async function main(): Promise<void> {
  const d = DEFAULT_OPTIONS;
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string', default: String(d.clusters) },
      releases: { type: 'string', default: String(d.releases) },
      objects: { type: 'string', default: String(d.objectsPerRelease) },
      latency: { type: 'string', default: String(d.latencyMs) },
      unreachable: { type: 'string', default: String(d.unreachableFraction) },
      'unreachable-mode': { type: 'string', default: d.unreachableMode },
      interval: { type: 'string', default: String(d.intervalSeconds) },
      'steady-intervals': { type: 'string', default: String(d.steadyIntervals) },
      'list-targets': { type: 'string', default: String(d.listTargets) },
      'page-size': { type: 'string', default: String(d.listPageSize) },
      'ready-after': { type: 'string', default: String(d.readyAfterMs) },
      timeout: { type: 'string', default: String(d.convergeTimeoutMs / 1000) },
      env: { type: 'string', multiple: true, default: [] },
      'cpu-prof': { type: 'boolean', default: false },
      'max-old-space': { type: 'string', default: String(d.maxOldSpaceMiB) },
      'keep-db': { type: 'boolean', default: false },
      main: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'options: --clusters N --releases R --objects K --latency MS --unreachable FRACTION\n' +
        '         --unreachable-mode refused|hang --interval S --steady-intervals N\n' +
        '         --list-targets N --page-size N --ready-after MS --timeout S\n' +
        '         --env NAME=VALUE (repeatable, for the gitfleet process) --cpu-prof --keep-db --out DIR\n' +
        '         --max-old-space MIB (V8 heap bound of gitfleet, default as the Helm chart: 640)\n' +
        '         --main PATH (built entry point, default dist/src/main.js)',
    );
    return;
  }
  const mode = values['unreachable-mode'];
  if (mode !== 'refused' && mode !== 'hang') {
    throw new Error('--unreachable-mode must be refused or hang');
  }
  const outDir = resolve(values.out);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const name = `fleet-${values.clusters}x${values.releases}x${values.objects}-${stamp}`;
  const appEnv = Object.fromEntries(
    values.env.map((e) => {
      const i = e.indexOf('=');
      if (i <= 0) {
        throw new Error(`--env ${e}: expected NAME=VALUE`);
      }
      return [e.slice(0, i), e.slice(i + 1)];
    }),
  );
  const started = Date.now();
  const result = await runFleetBench({
    clusters: Number(values.clusters),
    releases: Number(values.releases),
    objectsPerRelease: Number(values.objects),
    latencyMs: Number(values.latency),
    unreachableFraction: Number(values.unreachable),
    unreachableMode: mode,
    intervalSeconds: Number(values.interval),
    steadyIntervals: Number(values['steady-intervals']),
    listTargets: Number(values['list-targets']),
    listPageSize: Number(values['page-size']),
    readyAfterMs: Number(values['ready-after']),
    convergeTimeoutMs: Number(values.timeout) * 1000,
    appEnv,
    ...(values['cpu-prof'] ? { cpuProfileDir: join(outDir, `${name}-cpuprofile`) } : {}),
    keepDatabase: values['keep-db'],
    maxOldSpaceMiB: Number(values['max-old-space']),
    ...(values.main === undefined ? {} : { mainJs: resolve(values.main) }),
    log: (line) =>
      console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`),
  });
  console.log(formatReport(result));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, goals: goalRows(result) }, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
