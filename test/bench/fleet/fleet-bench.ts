import { apiRequest, type ApiResponse } from 'test/support/app/api-request';
import { tenantAccessObjects } from 'test/support/fleet/tenant-access';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { type AppProcess, startAppProcess } from 'test/support/app/app-process';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';
import { KubeSim, type SimCluster } from 'test/support/kube-sim';
import { BENCH_NAMESPACE, benchFiles, releaseName, releasePath } from './fleet-manifests';
import {
  cpuSeconds,
  machineCpuSeconds,
  machineInfo,
  memory,
  ownCpuSeconds,
  percentile,
  type MachineInfo,
} from './proc-stats';

export interface FleetBenchOptions {
  clusters: number;
  releases: number;
  objectsPerRelease: number;
  /** Latency added to every request of every test cluster. */
  latencyMs: number;
  /** Fraction of clusters made unreachable in the isolation phase (0 skips it). */
  unreachableFraction: number;
  /** `refused`: the listener is closed; `hang`: requests are accepted and never answered in time. */
  unreachableMode: 'refused' | 'hang';
  /** Release interval; the steady state is measured over `steadyIntervals` of it. */
  intervalSeconds: number;
  steadyIntervals: number;
  /** Targets the API phase lists (rows are seeded in the database beyond the run's own). */
  listTargets: number;
  listPageSize: number;
  /** Delay before a Deployment reports ready in the test clusters. */
  readyAfterMs: number;
  convergeTimeoutMs: number;
  /** Extra environment of the gitfleet process (e.g. RECONCILE_CONCURRENCY). */
  appEnv: Record<string, string>;
  /** Writes a V8 CPU profile of the gitfleet process here (on exit). */
  cpuProfileDir?: string;
  /** V8 old-space bound of the gitfleet process, as the Helm chart sets it. */
  maxOldSpaceMiB: number;
  keepDatabase: boolean;
  /** Built entry point to run (default `dist/src/main.js`); a copy keeps a long run safe from rebuilds. */
  mainJs?: string;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<FleetBenchOptions, 'log'> = {
  clusters: 50,
  releases: 50,
  objectsPerRelease: 5,
  latencyMs: 5,
  unreachableFraction: 0.05,
  unreachableMode: 'refused',
  intervalSeconds: 60,
  steadyIntervals: 3,
  maxOldSpaceMiB: 640,
  listTargets: 10_000,
  listPageSize: 100,
  readyAfterMs: 200,
  convergeTimeoutMs: 20 * 60_000,
  appEnv: {},
  keepDatabase: false,
};

interface CpuMark {
  app: number;
  harness: number;
  machine: { busy: number; total: number };
  transactions: number;
}

export interface ConvergeFigures {
  seconds: number;
  targets: number;
  /** When each target became Ready, from the phase start. */
  targetP50Seconds: number;
  targetP95Seconds: number;
  /** Of the gitfleet process during the phase. */
  cpuSeconds: number;
  /** CPU of the benchmark process itself: the test clusters and the git server. */
  harnessCpuSeconds: number;
  /** Share of the machine's CPU (all cores) busy during the phase, every process. */
  machineBusyFraction: number;
  /** PostgreSQL transactions (statements outside a transaction count one each) per target. */
  transactionsPerTarget: number;
  /** Failed reconcile runs during the phase (retries), from the history table. */
  failedRuns: number;
  /** Requests the test clusters answered during the phase, per target and by verb and resource. */
  requestsPerTarget: number;
  byVerbResource: Record<string, number>;
}

export interface SteadyFigures {
  intervals: number;
  seconds: number;
  targets: number;
  reconciles: number;
  requests: number;
  requestsPerTargetPerInterval: number;
  /** Requests per reconcile run: the per-target cost even when runs fall behind the interval. */
  requestsPerReconcile: number;
  byVerbPerTargetPerInterval: Record<string, number>;
  byVerbResource: Record<string, number>;
  /** Creates, updates, patches and deletes that were not dry-runs. */
  writes: number;
  dryRuns: number;
  cpuSecondsPerInterval: number;
  /** A cluster's request log overflowed: writes and dry-runs may be undercounted. */
  logTruncated: boolean;
}

export interface ResourceFigures {
  peakRssMiB: number;
  rssMiB: number;
  targetRows: number;
  historyRows: number;
  rowsPerTarget: number;
  bytesPerTarget: number;
  tableBytes: Record<string, number>;
  databaseBytes: number;
}

export interface IsolationFigures {
  unreachableClusters: number;
  reachableTargets: number;
  seconds: number;
  healthySeconds: number;
  ratio: number;
  mode: 'refused' | 'hang';
}

export interface ApiFigures {
  targets: number;
  seededTargets: number;
  pageSize: number;
  requests: number;
  p50Ms: number;
  p95Ms: number;
  byQuery: Record<string, { pages: number; p50Ms: number; p95Ms: number }>;
}

export interface FleetBenchResult {
  options: Omit<FleetBenchOptions, 'log'>;
  machine: MachineInfo;
  machineAtEnd: { loadAverage: number[] };
  startedAt: string;
  setupSeconds: number;
  cold: ConvergeFigures;
  update: ConvergeFigures;
  steady: SteadyFigures;
  resources: ResourceFigures;
  isolation: IsolationFigures | null;
  api: ApiFigures;
  cpuProfile: string | null;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * One benchmark run: gitfleet as a separate process on a fresh PostgreSQL
 * database, N test clusters, a git server; everything driven through the public
 * API and observed from the outside (database, test clusters, /proc).
 */
export class FleetBench {
  private readonly adminToken = `admin-${randomBytes(24).toString('hex')}`;
  private readonly tenant = `bench-${randomBytes(3).toString('hex')}`;
  private sim?: KubeSim;
  private repos?: GitRepositories;
  private git?: GitHttpServer;
  private app?: AppProcess;
  private db?: Client;
  private databaseName?: string;
  private repo?: TestRepository;
  private simClusters: SimCluster[] = [];
  private revisionNumber = 1;
  private tenantId = '';

  constructor(private readonly o: FleetBenchOptions) {}

  async run(): Promise<FleetBenchResult> {
    const startedAt = new Date().toISOString();
    const machine = machineInfo();
    try {
      const t0 = performance.now();
      await this.setUp();
      const setupSeconds = (performance.now() - t0) / 1000;
      this.o.log(`setup done in ${setupSeconds.toFixed(1)} s`);

      const cold = await this.coldConverge();
      this.o.log(`cold converge: ${cold.seconds.toFixed(1)} s`);
      const update = await this.updateConverge();
      this.o.log(`update converge: ${update.seconds.toFixed(1)} s`);
      const steady = await this.steadyState();
      this.o.log(
        `steady state: ${steady.requestsPerTargetPerInterval.toFixed(2)} requests/target/interval, ${steady.writes} writes`,
      );
      const resources = await this.resources();
      const isolation =
        this.o.unreachableFraction > 0 ? await this.isolation(update.seconds) : null;
      if (isolation !== null) {
        this.o.log(`isolation: ${isolation.ratio.toFixed(2)}× the healthy update converge`);
      }
      const api = await this.apiLatency();
      this.o.log(`API: p95 ${api.p95Ms.toFixed(1)} ms per page`);
      const finalMemory = memory(this.pid());
      resources.peakRssMiB = finalMemory.peakRssBytes / 1024 ** 2;
      const cpuProfile = await this.stopApp();
      return {
        options: withoutLog(this.o),
        machine,
        machineAtEnd: { loadAverage: machineInfo().loadAverage },
        startedAt,
        setupSeconds,
        cold,
        update,
        steady,
        resources,
        isolation,
        api,
        cpuProfile,
      };
    } finally {
      await this.tearDown();
    }
  }

  // ---------------------------------------------------------------- setup

  private async setUp(): Promise<void> {
    const o = this.o;
    this.sim = await KubeSim.start({ readyAfterMs: o.readyAfterMs, requestLogSize: 20_000 });
    this.simClusters = await this.sim.addClusters(o.clusters, 'bench');
    const sa = this.serviceAccount;
    for (const c of this.simClusters) {
      c.seed(...tenantAccessObjects(BENCH_NAMESPACE, sa));
      if (o.latencyMs > 0) {
        await c.faults.set({ latencyMs: o.latencyMs });
      }
    }
    o.log(`${o.clusters} test clusters up`);

    this.repos = await GitRepositories.create();
    this.git = await GitHttpServer.start({ root: this.repos.root });
    this.repo = await this.repos.createRepository('fleet');
    await this.repo.commit(benchFiles(o.releases, o.objectsPerRelease, this.revisionNumber), {
      message: 'revision 1',
    });

    this.databaseName = uniqueDatabaseName('gitfleet_bench');
    const databaseUrl = await createEmptyDatabase(this.databaseName);
    this.db = new Client({ connectionString: databaseUrl });
    await this.db.connect();
    // The heap bound the Helm chart sets (helm-chart/values.yaml nodeMaxOldSpaceMiB).
    const nodeOptions = [`--max-old-space-size=${o.maxOldSpaceMiB}`];
    if (o.cpuProfileDir !== undefined) {
      nodeOptions.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`);
    }
    const cpuProf: Record<string, string> = { NODE_OPTIONS: nodeOptions.join(' ') };
    this.app = await startAppProcess(
      {
        DATABASE_URL: databaseUrl,
        GITFLEET_ADMIN_TOKEN: this.adminToken,
        GITFLEET_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
        LOG_LEVEL: 'warn',
        ...cpuProf,
        ...o.appEnv,
      },
      60_000,
      o.mainJs,
    );
    o.log(`gitfleet up (pid ${this.pid()})`);

    expect2xx(await this.api('POST', '/tenants', { name: this.tenant }), 'create tenant');
    this.tenantId = (
      await this.db.query<{ id: string }>('SELECT id FROM tenant WHERE name = $1', [this.tenant])
    ).rows[0].id;
    await mapLimit(this.simClusters, 8, async (c) => {
      expect2xx(
        await this.api('POST', '/clusters', {
          name: c.name,
          kubeconfig: c.kubeconfig(),
          labels: { fleet: 'bench' },
        }),
        `register cluster ${c.name}`,
      );
      expect2xx(
        await this.api('POST', `/clusters/${c.name}/grants`, {
          tenant: this.tenant,
          namespaces: [BENCH_NAMESPACE],
          serviceAccountName: sa,
        }),
        `grant cluster ${c.name}`,
      );
    });
    o.log(`${o.clusters} clusters registered and granted`);

    expect2xx(
      await this.api('POST', `/tenants/${this.tenant}/sources`, {
        name: 'fleet',
        kind: 'git',
        url: this.git.url(this.repo.path),
        reference: { branch: 'main' },
        intervalSeconds: 3600,
        timeoutSeconds: 120,
        caCertificate: this.git.caCertificate,
      }),
      'create source',
    );
    await this.waitForSourceRevision(await this.repo.head());
  }

  private get serviceAccount(): string {
    return `gitfleet-${this.tenant}`;
  }

  private pid(): number {
    const pid = this.app?.child.pid;
    if (pid === undefined) {
      throw new Error('gitfleet is not running');
    }
    return pid;
  }

  private async waitForSourceRevision(sha: string): Promise<void> {
    await this.poll(`source at ${sha.slice(0, 8)}`, 120_000, async () => {
      const res = await this.api('GET', `/tenants/${this.tenant}/sources/fleet`);
      const revision = (res.body?.status?.revision as string | null | undefined) ?? '';
      return revision.endsWith(sha) ? true : undefined;
    });
  }

  /** Reconcile runs of the benchmark's tenant so far (`gitfleet_reconcile_total`). */
  private async reconcileRuns(): Promise<number> {
    const text = await (await fetch(`${this.app!.baseUrl}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (
        line.startsWith('gitfleet_reconcile_total{') &&
        line.includes(`tenant="${this.tenant}"`)
      ) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /** The start of a phase: request counters from zero, and its CPU mark. */
  private async phaseStart(): Promise<CpuMark> {
    for (const c of this.simClusters) {
      c.resetCounters();
    }
    return this.cpuMark();
  }

  private async cpuMark(): Promise<CpuMark> {
    // Committed transactions of gitfleet's database: every autocommit statement is one.
    const { rows } = await this.db!.query<{ n: string }>(
      'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return {
      app: cpuSeconds(this.pid()),
      harness: ownCpuSeconds(),
      machine: machineCpuSeconds(),
      transactions: Number(rows[0]?.n ?? 0),
    };
  }

  // ---------------------------------------------------------------- phases

  private async coldConverge(): Promise<ConvergeFigures> {
    const o = this.o;
    const revision = `main@sha1:${await this.repo!.head()}`;
    const started = performance.now();
    const startedAt = new Date();
    const cpu0 = await this.phaseStart();
    await mapLimit(
      Array.from({ length: o.releases }, (_, i) => i),
      4,
      async (i) => {
        expect2xx(
          await this.api('POST', `/tenants/${this.tenant}/releases`, {
            name: releaseName(i),
            source: 'fleet',
            path: releasePath(i),
            targetNamespace: BENCH_NAMESPACE,
            clusterSelector: { matchLabels: { fleet: 'bench' } },
            intervalSeconds: o.intervalSeconds,
            timeoutSeconds: 120,
          }),
          `create release ${releaseName(i)}`,
        );
      },
    );
    o.log(
      `${o.releases} releases created in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return this.waitConverged('cold', revision, started, startedAt, cpu0, o.clusters * o.releases);
  }

  private async updateConverge(): Promise<ConvergeFigures> {
    const { revision, started, startedAt, cpu0 } = await this.pushRevision();
    return this.waitConverged(
      'update',
      revision,
      started,
      startedAt,
      cpu0,
      this.o.clusters * this.o.releases,
    );
  }

  /** Commits a revision touching every release and announces it through the refresh endpoint. */
  private async pushRevision(): Promise<{
    revision: string;
    started: number;
    startedAt: Date;
    cpu0: CpuMark;
  }> {
    this.revisionNumber += 1;
    const sha = await this.repo!.commit(
      benchFiles(this.o.releases, this.o.objectsPerRelease, this.revisionNumber),
      { message: `revision ${this.revisionNumber}` },
    );
    const started = performance.now();
    const startedAt = new Date();
    const cpu0 = await this.phaseStart();
    const res = await this.api('POST', `/tenants/${this.tenant}/sources/fleet/refresh`);
    if (res.status !== 202) {
      throw new Error(`refresh failed: ${res.status} ${res.text}`);
    }
    return { revision: `main@sha1:${sha}`, started, startedAt, cpu0 };
  }

  private async waitConverged(
    phase: string,
    revision: string,
    started: number,
    startedAt: Date,
    cpu0: CpuMark,
    expected: number,
    excludeClusters: readonly string[] = [],
  ): Promise<ConvergeFigures> {
    const db = this.db!;
    const scope = `t.tenant_id = $1 AND NOT t.removing AND c.name <> ALL($3::text[])`;
    let lastLog = performance.now();
    await this.poll(`${phase} converge`, this.o.convergeTimeoutMs, async () => {
      const { rows } = await db.query<{ total: number; ready: number }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE t.ready_status = 'True' AND t.applied_revision = $2)::int AS ready
         FROM target t JOIN cluster c ON c.id = t.cluster_id WHERE ${scope}`,
        [this.tenantId, revision, excludeClusters],
      );
      const { total, ready } = rows[0];
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        this.o.log(
          `  ${phase}: ${ready}/${expected} ready after ${((lastLog - started) / 1000).toFixed(0)} s`,
        );
      }
      return total === expected && ready === expected ? true : undefined;
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = await this.cpuMark();
    const { rows } = await db.query<{ s: number }>(
      `SELECT extract(epoch FROM (t.last_reconciled_at - $2::timestamptz))::float8 AS s
       FROM target t JOIN cluster c ON c.id = t.cluster_id WHERE ${scope}`,
      [this.tenantId, startedAt, excludeClusters],
    );
    const failed = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM target_run r JOIN target t ON t.id = r.target_id
       WHERE t.tenant_id = $1 AND r.started_at >= $2 AND r.result <> 'Succeeded'`,
      [this.tenantId, startedAt],
    );
    const times = rows.map((r) => r.s);
    const byVerbResource: Record<string, number> = {};
    let requests = 0;
    for (const c of this.simClusters) {
      const counters = c.counters();
      requests += counters.total;
      for (const [key, n] of Object.entries(counters.byVerbResource)) {
        byVerbResource[key] = (byVerbResource[key] ?? 0) + n;
      }
    }
    return {
      requestsPerTarget: requests / expected,
      byVerbResource,
      seconds,
      targets: expected,
      targetP50Seconds: percentile(times, 50),
      targetP95Seconds: percentile(times, 95),
      cpuSeconds: cpu.app - cpu0.app,
      harnessCpuSeconds: cpu.harness - cpu0.harness,
      transactionsPerTarget: (cpu.transactions - cpu0.transactions) / expected,
      machineBusyFraction:
        (cpu.machine.busy - cpu0.machine.busy) / (cpu.machine.total - cpu0.machine.total),
      failedRuns: failed.rows[0]?.n ?? 0,
    };
  }

  private async steadyState(): Promise<SteadyFigures> {
    const o = this.o;
    const targets = o.clusters * o.releases;
    for (const c of this.simClusters) {
      c.resetCounters();
    }
    const runs0 = await this.reconcileRuns();
    const cpu0 = cpuSeconds(this.pid());
    const seconds = o.intervalSeconds * o.steadyIntervals;
    o.log(`steady state: measuring ${o.steadyIntervals} × ${o.intervalSeconds} s`);
    await sleep(seconds * 1000);
    const cpu = cpuSeconds(this.pid()) - cpu0;
    const byVerb: Record<string, number> = {};
    const byVerbResource: Record<string, number> = {};
    let requests = 0;
    let writes = 0;
    let dryRuns = 0;
    let logTruncated = false;
    for (const c of this.simClusters) {
      const counters = c.counters();
      requests += counters.total;
      for (const [verb, n] of Object.entries(counters.byVerb)) {
        byVerb[verb] = (byVerb[verb] ?? 0) + n;
      }
      for (const [key, n] of Object.entries(counters.byVerbResource)) {
        byVerbResource[key] = (byVerbResource[key] ?? 0) + n;
      }
      logTruncated ||= c.requestLog.length < counters.total;
      for (const e of c.requestLog) {
        if (WRITE_VERBS.has(e.verb)) {
          if (e.query.includes('dryRun')) {
            dryRuns += 1;
          } else {
            writes += 1;
          }
        }
      }
    }
    // Quiet runs leave no history row: count them from gitfleet's own counter.
    const reconciles = (await this.reconcileRuns()) - runs0;
    const per = (n: number): number => n / targets / o.steadyIntervals;
    return {
      intervals: o.steadyIntervals,
      seconds,
      targets,
      reconciles: reconciles,
      requests,
      requestsPerTargetPerInterval: per(requests),
      requestsPerReconcile: requests / Math.max(1, reconciles),
      byVerbPerTargetPerInterval: Object.fromEntries(
        Object.entries(byVerb).map(([verb, n]) => [verb, per(n)]),
      ),
      byVerbResource,
      writes,
      dryRuns,
      cpuSecondsPerInterval: cpu / o.steadyIntervals,
      logTruncated,
    };
  }

  private async resources(): Promise<ResourceFigures> {
    const db = this.db!;
    await db.query('VACUUM ANALYZE target, target_run');
    const count = async (sql: string): Promise<number> =>
      (await db.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
    const targetRows = await count('SELECT count(*)::int AS n FROM target');
    const historyRows = await count('SELECT count(*)::int AS n FROM target_run');
    const { rows } = await db.query<{ table: string; bytes: string }>(
      `SELECT relname AS table, pg_total_relation_size(relid)::text AS bytes
       FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC`,
    );
    const tableBytes = Object.fromEntries(rows.map((r) => [r.table, Number(r.bytes)]));
    const databaseBytes = Number(
      (
        await db.query<{ bytes: string }>(
          'SELECT pg_database_size(current_database())::text AS bytes',
        )
      ).rows[0]?.bytes ?? 0,
    );
    const mem = memory(this.pid());
    return {
      peakRssMiB: mem.peakRssBytes / 1024 ** 2,
      rssMiB: mem.rssBytes / 1024 ** 2,
      targetRows,
      historyRows,
      rowsPerTarget: (targetRows + historyRows) / Math.max(1, targetRows),
      bytesPerTarget:
        ((tableBytes.target ?? 0) + (tableBytes.target_run ?? 0)) / Math.max(1, targetRows),
      tableBytes,
      databaseBytes,
    };
  }

  private async isolation(healthySeconds: number): Promise<IsolationFigures> {
    const o = this.o;
    const n = Math.max(1, Math.round(o.clusters * o.unreachableFraction));
    const down = this.simClusters.slice(0, n);
    for (const c of down) {
      await c.faults.set(
        o.unreachableMode === 'refused' ? { unreachable: true } : { latencyMs: 600_000 },
      );
    }
    o.log(`isolation: ${n} clusters ${o.unreachableMode === 'refused' ? 'refuse' : 'hang'}`);
    try {
      const { revision, started, startedAt, cpu0 } = await this.pushRevision();
      const reachable = (o.clusters - n) * o.releases;
      const figures = await this.waitConverged(
        'isolation',
        revision,
        started,
        startedAt,
        cpu0,
        reachable,
        down.map((c) => c.name),
      );
      return {
        unreachableClusters: n,
        reachableTargets: reachable,
        seconds: figures.seconds,
        healthySeconds,
        ratio: figures.seconds / healthySeconds,
        mode: o.unreachableMode,
      };
    } finally {
      for (const c of down) {
        await c.faults.set(
          o.unreachableMode === 'refused' ? { unreachable: false } : { latencyMs: o.latencyMs },
        );
      }
    }
  }

  private async apiLatency(): Promise<ApiFigures> {
    const o = this.o;
    const own = o.clusters * o.releases;
    const seeded = await this.seedTargets(Math.max(0, o.listTargets - own));
    const total = own + seeded;
    const byQuery: ApiFigures['byQuery'] = {};
    const all: number[] = [];
    const base = `/tenants/${this.tenant}/targets`;
    const queries: Record<string, string> = {
      all: `${base}?limit=${o.listPageSize}`,
      ready: `${base}?ready=True&limit=${o.listPageSize}`,
      cluster: `${base}?cluster=${this.simClusters[0].name}&limit=${o.listPageSize}`,
      release: `${base}?release=${releaseName(0)}&limit=${o.listPageSize}`,
    };
    // One request first, so connection setup and first-use compilation do not count.
    await this.api('GET', queries.all);
    for (const [name, first] of Object.entries(queries)) {
      const times: number[] = [];
      let path: string | undefined = first;
      while (path !== undefined) {
        const t0 = performance.now();
        const res = await this.api('GET', path);
        times.push(performance.now() - t0);
        if (res.status !== 200) {
          throw new Error(`GET ${path}: ${res.status} ${res.text}`);
        }
        const token = res.body.continue as string | null | undefined;
        path =
          token === null || token === undefined || token === ''
            ? undefined
            : `${first}&continue=${encodeURIComponent(token)}`;
      }
      byQuery[name] = {
        pages: times.length,
        p50Ms: percentile(times, 50),
        p95Ms: percentile(times, 95),
      };
      all.push(...times);
    }
    return {
      targets: total,
      seededTargets: seeded,
      pageSize: o.listPageSize,
      requests: all.length,
      p50Ms: percentile(all, 50),
      p95Ms: percentile(all, 95),
      byQuery,
    };
  }

  /**
   * Adds about `count` targets without reconciling them: suspended copies of a
   * release (so resync keeps them as they are), each with a target per cluster
   * copied from a real one (same inventory and status sizes), due in a day.
   */
  private async seedTargets(count: number): Promise<number> {
    if (count <= 0) {
      return 0;
    }
    const db = this.db!;
    const perRelease = this.o.clusters;
    const copies = Math.ceil(count / perRelease);
    const template = (
      await db.query<{ id: string }>('SELECT id FROM release WHERE tenant_id = $1 LIMIT 1', [
        this.tenantId,
      ])
    ).rows[0].id;
    await copyRows(
      db,
      'release',
      {
        id: 'gen_random_uuid()',
        name: `'seed-' || lpad(g::text, 6, '0')`,
        suspended: 'true',
      },
      `FROM release src, generate_series(1, ${copies}) g WHERE src.id = '${template}'`,
    );
    const inserted = await copyRows(
      db,
      'target',
      {
        id: 'gen_random_uuid()',
        release_id: 'r.id',
        release_name: 'r.name',
        next_run_at: `now() + interval '1 day'`,
        ready_status: `CASE WHEN random() < 0.9 THEN 'True' ELSE 'False' END`,
        lease_owner: 'NULL',
        lease_expires_at: 'NULL',
      },
      `FROM target src JOIN release r ON r.tenant_id = src.tenant_id AND r.name LIKE 'seed-%'
       WHERE src.release_id = '${template}'`,
    );
    await db.query('ANALYZE target, release');
    this.o.log(`API: seeded ${inserted} targets`);
    return inserted;
  }

  // ---------------------------------------------------------------- plumbing

  private async api(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return apiRequest(this.app!.baseUrl, this.adminToken, method, path, body);
  }

  private async poll(what: string, timeoutMs: number, probe: () => Promise<true | undefined>) {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if ((await probe()) === true) {
        return;
      }
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}:\n${await this.diagnose()}`);
  }

  /** Why targets are not Ready, for the timeout message. */
  private async diagnose(): Promise<string> {
    if (this.db === undefined) {
      return '';
    }
    const { rows } = await this.db.query<{
      ready_status: string;
      last_result: string | null;
      last_error: string | null;
      n: number;
    }>(
      `SELECT ready_status, last_result, left(last_error, 200) AS last_error, count(*)::int AS n
       FROM target GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 10`,
    );
    const app = this.app?.output().split('\n').slice(-20).join('\n') ?? '';
    return `${rows.map((r) => `${r.n} × ${r.ready_status} ${r.last_result} ${r.last_error ?? ''}`).join('\n')}\n--- gitfleet output (tail) ---\n${app}`;
  }

  private async stopApp(): Promise<string | null> {
    const app = this.app;
    this.app = undefined;
    if (app === undefined) {
      return null;
    }
    await app.stop();
    if (this.o.cpuProfileDir === undefined) {
      return null;
    }
    return this.o.cpuProfileDir;
  }

  private async tearDown(): Promise<void> {
    await this.app?.stop().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    await this.sim?.stop().catch(() => undefined);
    await this.git?.close().catch(() => undefined);
    await this.repos?.dispose().catch(() => undefined);
    if (this.databaseName !== undefined && !this.o.keepDatabase) {
      await dropDatabase(this.databaseName).catch(() => undefined);
    } else if (this.databaseName !== undefined) {
      this.o.log(`kept database ${this.databaseName}`);
    }
  }
}

export function runFleetBench(options: FleetBenchOptions): Promise<FleetBenchResult> {
  return new FleetBench(options).run();
}

/** INSERT … SELECT copying every column of `table` from `src`, with some replaced by SQL expressions. */
async function copyRows(
  db: Client,
  table: string,
  overrides: Record<string, string>,
  from: string,
): Promise<number> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const columns = rows.map((r) => r.column_name);
  const select = columns.map((c) => overrides[c] ?? `src."${c}"`);
  const result = await db.query(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')})
     SELECT ${select.join(', ')} ${from}`,
  );
  return result.rowCount ?? 0;
}

function withoutLog(o: FleetBenchOptions): Omit<FleetBenchOptions, 'log'> {
  const copy: Partial<FleetBenchOptions> = { ...o };
  delete copy.log;
  return copy as Omit<FleetBenchOptions, 'log'>;
}

function expect2xx(res: ApiResponse, what: string): void {
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${what} failed: ${res.status} ${res.text}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
