import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeSim } from 'test/support/kube-sim/index';

/**
 * `npm run kube-sim -- --clusters N --out DIR` (clusters `<prefix>-1` … `<prefix>-N`) or
 * `--names prod-eu,prod-us`: serves the clusters until SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string', default: '1' },
      out: { type: 'string', default: '.kube-sim' },
      prefix: { type: 'string', default: 'cluster' },
      names: { type: 'string' },
      'ready-after-ms': { type: 'string' },
    },
  });
  const names = values.names?.split(',').filter((n) => n.length > 0);
  const count = names ? names.length : Number(values.clusters);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`--clusters must be a positive integer, got ${values.clusters}`);
  }
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const started = Date.now();
  const sim = await KubeSim.start(
    values['ready-after-ms'] !== undefined
      ? { readyAfterMs: Number(values['ready-after-ms']) }
      : {},
  );
  const clusters = names
    ? await Promise.all(names.map((name) => sim.addCluster({ name })))
    : await sim.addClusters(count, values.prefix);
  for (const c of clusters) {
    writeFileSync(join(out, `${c.name}.kubeconfig`), c.kubeconfig(), { mode: 0o600 });
  }
  process.stdout.write(
    `kube-sim: ${count} cluster(s) serving (first ${clusters[0].url}), kubeconfigs in ${out}, started in ${Date.now() - started} ms\n`,
  );
  const shutdown = (): void => {
    process.stdout.write('kube-sim: stopping\n');
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`kube-sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
