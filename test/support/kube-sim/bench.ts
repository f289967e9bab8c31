import https from 'node:https';
import { parseArgs } from 'node:util';
import type { SimCluster } from 'test/support/kube-sim/index';
import { KubeSim } from 'test/support/kube-sim/index';

/** Benchmark (not a test): start many idle clusters, then drive a mixed workload. */
function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function request(
  agent: https.Agent,
  c: SimCluster,
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: c.port,
        method,
        path,
        agent,
        ca: c.ca.certPem,
        headers: {
          Authorization: `Bearer ${c.adminToken}`,
          Accept: 'application/json',
          ...(body
            ? {
                'Content-Type': contentType ?? 'application/json',
                'Content-Length': Buffer.byteLength(body),
              }
            : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string', default: '1000' },
      active: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '64' },
    },
  });
  const total = Number(values.clusters);
  const active = Math.min(total, Number(values.active));
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);

  global.gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const sim = await KubeSim.start({ readyAfterMs: 50 });
  const clusters = await sim.addClusters(total, 'bench');
  const startMs = performance.now() - t0;
  global.gc?.();
  const idle = process.memoryUsage();
  console.log(
    `clusters started:           ${total} in ${(startMs / 1000).toFixed(2)} s (${(startMs / total).toFixed(2)} ms/cluster)`,
  );
  console.log(
    `memory per idle cluster:    RSS ${kib((idle.rss - before.rss) / total)}, heap ${kib((idle.heapUsed - before.heapUsed) / total)}, external ${kib((idle.external - before.external) / total)} (total RSS ${mb(idle.rss)})`,
  );

  const agents = clusters
    .slice(0, active)
    .map(() => new https.Agent({ keepAlive: true, maxSockets: 8 }));
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  const ops = ['list', 'get', 'apply', 'patch', 'apply-deploy', 'watch-list'] as const;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (performance.now() < deadline) {
      const ci = i % active;
      const c = clusters[ci];
      const agent = agents[ci];
      const op = ops[i % ops.length];
      const name = `cm-${i % 20}`;
      let status: number;
      switch (op) {
        case 'list':
          status = await request(
            agent,
            c,
            'GET',
            '/api/v1/namespaces/default/configmaps?limit=500',
          );
          break;
        case 'get':
          status = await request(
            agent,
            c,
            'GET',
            '/api/v1/namespaces/default/configmaps/kube-root-ca.crt',
          );
          break;
        case 'apply':
          status = await request(
            agent,
            c,
            'PATCH',
            `/api/v1/namespaces/default/configmaps/${name}?fieldManager=bench&force=true`,
            JSON.stringify({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name },
              data: { v: String(i % 7) },
            }),
            'application/apply-patch+yaml',
          );
          break;
        case 'patch':
          status = await request(
            agent,
            c,
            'PATCH',
            `/api/v1/namespaces/default/configmaps/kube-root-ca.crt`,
            JSON.stringify({ metadata: { labels: { n: String(i % 5) } } }),
            'application/merge-patch+json',
          );
          break;
        case 'apply-deploy':
          status = await request(
            agent,
            c,
            'PATCH',
            `/apis/apps/v1/namespaces/default/deployments/web-${i % 5}?fieldManager=bench&force=true`,
            JSON.stringify({
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: `web-${i % 5}` },
              spec: {
                replicas: (i % 3) + 1,
                selector: { matchLabels: { app: 'web' } },
                template: {
                  metadata: { labels: { app: 'web' } },
                  spec: {
                    containers: [
                      { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] },
                    ],
                  },
                },
              },
            }),
            'application/apply-patch+yaml',
          );
          break;
        case 'watch-list':
          status = await request(agent, c, 'GET', '/apis/apps/v1/deployments');
          break;
      }
      if (status < 400) {
        ok++;
      } else {
        failed++;
      }
      i += concurrency;
    }
  };
  const w0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - w0) / 1000;
  const after = process.memoryUsage();
  console.log(
    `mixed workload:             ${ok + failed} requests over ${active} clusters in ${elapsed.toFixed(1)} s, concurrency ${concurrency}`,
  );
  console.log(
    `requests/second:            ${((ok + failed) / elapsed).toFixed(0)} (${failed} errors)`,
  );
  console.log(
    `requests counted by sim:    ${clusters.slice(0, active).reduce((n, c) => n + c.counters().total, 0)}`,
  );
  console.log(`RSS after workload:         ${mb(after.rss)}`);
  for (const a of agents) {
    a.destroy();
  }
  const s0 = performance.now();
  await sim.stop();
  console.log(`stopped in:                 ${((performance.now() - s0) / 1000).toFixed(2)} s`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
