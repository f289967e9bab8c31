import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { mapLimit } from 'src/common/async/map-limit';
import { createKubeApiClient } from 'src/common/kube/kube-client.factory';
import { KubeSim } from 'test/support/kube-sim/index';

/**
 * `npm run bench:kube-client -- --requests 2000 --concurrency 8 --rounds 3`
 *
 * Benchmark (not a test) behind docs/adr/0010-kubernetes-client.md: N
 * server-side-apply PATCH requests against one kube-sim cluster, through the
 * hand-written KubeApiClient and through @kubernetes/client-node's
 * KubernetesObjectApi (both discover the resource first, both apply with
 * force and a field manager). The test server runs in this process; each
 * client runs in a fresh child process so that its CPU time and peak RSS are
 * its own. Rounds alternate the clients to even out machine noise.
 */
type ClientKind = 'hand-written' | 'client-node';
const CLIENTS: readonly ClientKind[] = ['hand-written', 'client-node'];

interface WorkerResult {
  readonly client: ClientKind;
  readonly requests: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssBeforeMiB: number;
  readonly maxRssMiB: number;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

// A type literal (not an interface) so it fits both clients' object types.
type BenchConfigMap = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
};

function configMap(i: number, names: number): BenchConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `bench-${i % names}`, namespace: 'default' },
    data: { round: String(i), payload: 'x'.repeat(256) },
  };
}

async function worker(
  client: ClientKind,
  kubeconfig: string,
  requests: number,
  concurrency: number,
): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  let apply: (obj: BenchConfigMap) => Promise<unknown>;
  if (client === 'hand-written') {
    const api = createKubeApiClient(kc, { maxSockets: concurrency });
    apply = (obj) => api.apply(obj, { fieldManager: 'bench', force: true });
  } else {
    const api = KubernetesObjectApi.makeApiClient(kc);
    apply = (obj) =>
      api.patch(obj, undefined, undefined, 'bench', true, PatchStrategy.ServerSideApply);
  }
  const names = 200;
  // Warm-up: discovery, TLS handshakes, JIT; not measured.
  await mapLimit(
    Array.from({ length: Math.min(200, requests) }, (_, i) => i),
    concurrency,
    (i) => apply(configMap(i, names)),
  );
  const rssBeforeMiB = mib(process.memoryUsage().rss / 1024);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await mapLimit(
    Array.from({ length: requests }, (_, i) => i),
    concurrency,
    (i) => apply(configMap(i, names)),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: WorkerResult = {
    client,
    requests,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    rssBeforeMiB,
    maxRssMiB: mib(process.resourceUsage().maxRSS),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runWorker(
  client: ClientKind,
  kubeconfig: string,
  requests: number,
  concurrency: number,
): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        __filename,
        '--worker',
        client,
        '--kubeconfig',
        kubeconfig,
        '--requests',
        String(requests),
        '--concurrency',
        String(concurrency),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`${client} worker exited with ${code}`));
        return;
      }
      resolve(JSON.parse(line) as WorkerResult);
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      worker: { type: 'string' },
      kubeconfig: { type: 'string' },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  if (values.worker !== undefined) {
    const client = CLIENTS.find((c) => c === values.worker);
    if (client === undefined || values.kubeconfig === undefined) {
      throw new Error('--worker needs hand-written|client-node and --kubeconfig');
    }
    await worker(client, values.kubeconfig, requests, concurrency);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kube-client-bench-'));
  const sim = await KubeSim.start();
  try {
    const [cluster] = await sim.addClusters(1, 'bench');
    const kubeconfig = join(dir, 'bench.kubeconfig');
    writeFileSync(kubeconfig, cluster.kubeconfig(), { mode: 0o600 });
    const results: WorkerResult[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
      for (const client of order) {
        const r = await runWorker(client, kubeconfig, requests, concurrency);
        console.log(
          `round ${round + 1} ${client.padEnd(12)} ${r.requests} SSA PATCH: wall ${r.wallMs} ms, CPU ${r.cpuMs} ms (${((r.cpuMs * 1000) / r.requests).toFixed(0)} µs/request), RSS after warm-up ${r.rssBeforeMiB} MiB, peak RSS ${r.maxRssMiB} MiB`,
        );
        results.push(r);
      }
    }
    console.log(
      `\nmedian of ${values.rounds} rounds, ${requests} requests, concurrency ${concurrency}:`,
    );
    for (const client of CLIENTS) {
      const mine = results.filter((r) => r.client === client);
      console.log(
        `${client.padEnd(12)} wall ${median(mine.map((r) => r.wallMs))} ms, CPU ${median(mine.map((r) => r.cpuMs))} ms, peak RSS ${median(mine.map((r) => r.maxRssMiB))} MiB`,
      );
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:kube-client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
