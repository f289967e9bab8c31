import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from 'test/e2e/releases/manifests';
import { ADMIN_URL } from 'test/support/database/test-database';
import { TcpProxy } from 'test/support/database/tcp-proxy';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import type { RequestLogEntry } from 'test/support/kube-sim/cluster';

const CLUSTERS = ['q-a', 'q-b', 'q-c'];
const RELEASES = Array.from({ length: 8 }, (_, i) => `r${i}`);
const LATENCY_MS = 300;
const PER_CLUSTER = 2;

/** A request of the target's reconcile: names the release's one object. */
const releaseOf = (entry: RequestLogEntry): string | undefined =>
  /^cfg-(r\d+)$/.exec(entry.name ?? '')?.[1];

/** The most overlapping intervals. */
function mostOverlapping(spans: readonly { start: number; end: number }[]): number {
  const edges = spans.flatMap((s) => [
    { at: s.start, step: 1 },
    { at: s.end, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let most = 0;
  for (const edge of edges) {
    now += edge.step;
    most = Math.max(most, now);
  }
  return most;
}

/**
 * The most reconciles one cluster ran at once, counted from its request log: each
 * target's requests span from the first one's start to the last one's end; the
 * answer is the most spans that overlap.
 */
function mostAtOnce(entries: readonly RequestLogEntry[], since: number): number {
  const spans = new Map<string, { start: number; end: number }>();
  for (const e of entries) {
    const release = releaseOf(e);
    if (release === undefined || e.time < since) {
      continue;
    }
    const end = e.time + e.durationMs;
    const span = spans.get(release);
    spans.set(release, {
      start: Math.min(span?.start ?? e.time, e.time),
      end: Math.max(span?.end ?? end, end),
    });
  }
  return mostOverlapping([...spans.values()]);
}

/**
 * The most targets of one cluster with a request in flight at once: a target
 * retried after a hang shows twice in its span, not here.
 */
function mostInFlight(entries: readonly RequestLogEntry[], since: number): number {
  return mostOverlapping(
    entries
      .filter((e) => e.time >= since && releaseOf(e) !== undefined)
      .map((e) => ({ start: e.time, end: e.time + e.durationMs })),
  );
}

describe('the target work queue: bounded claims, replicas sharing work, database outages', () => {
  const fleet = new FleetHarness({
    clusters: CLUSTERS.map((name) => ({ name, labels: { queue: 'e2e' } })),
    appEnv: {
      RECONCILE_CONCURRENCY: '8',
      RECONCILE_PER_CLUSTER_CONCURRENCY: String(PER_CLUSTER),
      RECONCILE_RESYNC_SECONDS: '3600',
      CLUSTER_PROBE_INTERVAL_SECONDS: '3600',
    },
  });
  let repo: TestRepository;
  let proxy: TcpProxy | undefined;

  const files = (color: string): Record<string, string> =>
    Object.fromEntries(
      RELEASES.map((r) => [`apps/${r}/configmap.json`, configMap(`cfg-${r}`, { color })]),
    );

  const commitAndRefresh = async (color: string, app = fleet.app): Promise<string> => {
    const head = await repo.commit(files(color));
    const refreshed = await fleet.api(
      'POST',
      `/tenants/${fleet.tenant}/sources/config/refresh`,
      undefined,
      app,
    );
    expect(refreshed.status).toBe(202);
    return `main@sha1:${head}`;
  };

  /** Every target of every release applied at `revision`, read through `app`. */
  const allAt = (revision: string, app = fleet.app, clusters = CLUSTERS) =>
    fleet.eventually(
      `all targets at ${revision}`,
      async () => {
        for (const release of RELEASES) {
          const res = await fleet.api(
            'GET',
            `/tenants/${fleet.tenant}/releases/${release}/targets?limit=50`,
            undefined,
            app,
          );
          const items = (res.body?.items ?? []) as { cluster: string; appliedRevision: string }[];
          const done = items.filter(
            (t) => clusters.includes(t.cluster) && t.appliedRevision === revision,
          );
          if (done.length < clusters.length) {
            return undefined;
          }
        }
        return true;
      },
      90_000,
    );

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('queue-config');
    await repo.commit(files('blue'));
    await fleet.createGitSource('config', repo);
  });

  afterAll(async () => {
    await fleet.stop();
    await proxy?.stop();
  });

  it('never runs more than RECONCILE_PER_CLUSTER_CONCURRENCY reconciles on one cluster', async () => {
    for (const c of CLUSTERS) {
      await fleet.cluster(c).faults.set({ latencyMs: LATENCY_MS });
    }
    const since = Date.now();
    for (const release of RELEASES) {
      const created = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
        name: release,
        source: 'config',
        path: `apps/${release}`,
        targetNamespace: 'apps',
        clusterSelector: { matchLabels: { queue: 'e2e' } },
        intervalSeconds: 3600,
        timeoutSeconds: 60,
      });
      expect(created.status).toBe(201);
    }
    for (const release of RELEASES) {
      await fleet.waitForTargets(release, (t) => t.ready === 'True', CLUSTERS.length, 90_000);
    }
    const most = CLUSTERS.map((c) => mostAtOnce(fleet.cluster(c).requestLog, since));
    expect(Math.max(...most)).toBeLessThanOrEqual(PER_CLUSTER);
    expect(Math.max(...most)).toBeGreaterThan(0);
  });

  it('lets a hanging cluster hold at most its per-cluster slots while the others proceed', async () => {
    const hungMs = 6_000;
    const hung = fleet.cluster('q-c');
    await hung.faults.set({ latencyMs: hungMs });
    const since = Date.now();
    const revision = await commitAndRefresh('green');
    // Eight reconciles per healthy cluster, two at a time at 300 ms a request:
    // well before the hung cluster's first answers come back.
    await allAt(revision, fleet.app, ['q-a', 'q-b']);
    await hung.faults.set({ latencyMs: 0 });
    await allAt(revision);
    expect(mostInFlight(hung.requestLog, since)).toBeLessThanOrEqual(PER_CLUSTER);
  });

  it('shares a converge between two replicas on one database', async () => {
    for (const c of CLUSTERS) {
      await fleet.cluster(c).faults.set({ latencyMs: LATENCY_MS });
    }
    const second = await fleet.startReplica();
    // A first converge warms the new replica: connections, and the artifact it fetches
    // for itself (artifacts are cached per replica).
    await allAt(await commitAndRefresh('amber'));
    const since = Date.now();
    for (const release of RELEASES) {
      const asked = await fleet.api(
        'POST',
        `/tenants/${fleet.tenant}/releases/${release}/reconcile`,
      );
      expect(asked.status).toBe(202);
    }
    await fleet.eventually(
      'every target reconciled again',
      async () => {
        for (const release of RELEASES) {
          const targets = await fleet.targets(release);
          const again = targets.filter(
            (t: { lastReconciledAt: string | null }) =>
              t.lastReconciledAt !== null && Date.parse(t.lastReconciledAt) >= since,
          );
          if (again.length < CLUSTERS.length) {
            return undefined;
          }
        }
        return true;
      },
      90_000,
    );
    // Each replica names itself in its user agent; every reconcile reads its object.
    const byReplica = new Map<string, Set<string>>();
    for (const c of CLUSTERS) {
      for (const e of fleet.cluster(c).requestLog) {
        const release = releaseOf(e);
        if (e.time >= since && release !== undefined) {
          const runs = byReplica.get(e.userAgent) ?? new Set<string>();
          runs.add(`${c}/${release}`);
          byReplica.set(e.userAgent, runs);
        }
      }
    }
    const counts = [...byReplica.values()].map((runs) => runs.size);
    expect(counts).toHaveLength(2);
    const total = counts.reduce((x, y) => x + y, 0);
    expect(total).toBeGreaterThanOrEqual(RELEASES.length * CLUSTERS.length);
    for (const n of counts) {
      expect(n).toBeGreaterThanOrEqual(total / 3);
    }
    await second.stop();
  });

  it('finishes or retries every in-flight target within 10 s of the database answering again', async () => {
    const admin = new URL(ADMIN_URL);
    proxy = await TcpProxy.start(admin.hostname, Number(admin.port || 5432));
    const viaProxy = new URL(fleet.databaseUrl);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    // The only replica left reaches PostgreSQL through the proxy the test cuts.
    const replica = await fleet.startReplica({ DATABASE_URL: viaProxy.toString() });
    await fleet.app.stop();
    for (const c of CLUSTERS) {
      await fleet.cluster(c).faults.set({ latencyMs: LATENCY_MS });
    }
    const since = Date.now();
    const revision = await commitAndRefresh('violet', replica);
    // Cut once reconciles are under way: applies of the new revision reach the clusters.
    await fleet.eventually(
      'reconciles in flight',
      () =>
        Promise.resolve(
          CLUSTERS.some((c) =>
            fleet
              .cluster(c)
              .requestLog.some((e) => e.time >= since && e.method === 'PATCH' && releaseOf(e)),
          )
            ? true
            : undefined,
        ),
      60_000,
    );
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 4_000));
    for (const c of CLUSTERS) {
      await fleet.cluster(c).faults.set({ latencyMs: 0 });
    }
    await proxy.restore();
    const answering = Date.now();
    await allAt(revision, replica);
    expect(Date.now() - answering).toBeLessThan(10_000);
  });
});
