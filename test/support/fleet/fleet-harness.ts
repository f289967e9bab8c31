import { apiRequest, type ApiResponse } from 'test/support/app/api-request';
import { tenantAccessObjects } from './tenant-access';
import { randomBytes } from 'node:crypto';
import { type AppProcess, startAppProcess } from 'test/support/app/app-process';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';
import { KubeSim, type SimCluster } from 'test/support/kube-sim';

export type { ApiResponse };

export interface FleetOptions {
  clusters: { name: string; labels: Record<string, string> }[];
  /** Namespaces granted to the tenant on every cluster (created in each cluster). */
  namespaces?: string[];
  appEnv?: Record<string, string>;
  /** More environment for every replica, computed once the test clusters exist (e.g. a management cluster's kubeconfig). */
  appEnvFromSim?: (sim: KubeSim) => Promise<Record<string, string>>;
}

/**
 * A whole fleet for e2e tests: the built service as a process on a fresh
 * PostgreSQL database, a real git server, and Kubernetes API test clusters
 * registered through the public API with a tenant granted namespaces on each.
 */
export class FleetHarness {
  readonly adminToken = `admin-${randomBytes(24).toString('hex')}`;
  readonly tenant = `team-${randomBytes(3).toString('hex')}`;
  sim!: KubeSim;
  git!: GitHttpServer;
  repos!: GitRepositories;
  app!: AppProcess;
  databaseName!: string;
  databaseUrl!: string;
  readonly clusters = new Map<string, SimCluster>();
  private readonly extraApps: AppProcess[] = [];
  private encryptionKeys = '';
  private simEnv: Record<string, string> = {};

  constructor(private readonly options: FleetOptions) {}

  get serviceAccountName(): string {
    return `gitfleet-${this.tenant}`;
  }

  get namespaces(): string[] {
    return this.options.namespaces ?? ['apps'];
  }

  async start(): Promise<this> {
    this.sim = await KubeSim.start({ readyAfterMs: 200 });
    this.repos = await GitRepositories.create();
    this.git = await GitHttpServer.start({ root: this.repos.root });
    this.databaseName = uniqueDatabaseName('gitfleet_e2e_fleet');
    this.databaseUrl = await createEmptyDatabase(this.databaseName);
    this.encryptionKeys = `e2e:${randomBytes(32).toString('base64')}`;
    this.simEnv = (await this.options.appEnvFromSim?.(this.sim)) ?? {};
    this.app = await this.startReplica();
    expect201(await this.api('POST', '/tenants', { name: this.tenant }), 'create tenant');
    for (const c of this.options.clusters) {
      await this.addCluster(c.name, c.labels);
    }
    return this;
  }

  /** Another service process on the same database (several replicas). */
  async startReplica(extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const app = await startAppProcess({
      DATABASE_URL: this.databaseUrl,
      GITFLEET_ADMIN_TOKEN: this.adminToken,
      GITFLEET_ENCRYPTION_KEYS: this.encryptionKeys,
      CLUSTER_PROBE_INTERVAL_SECONDS: '1',
      SOURCE_SCHEDULER_INTERVAL_MS: '200',
      SOURCE_FETCH_BACKOFF_BASE_SECONDS: '1',
      RECONCILE_POLL_INTERVAL_MS: '200',
      RECONCILE_RESYNC_SECONDS: '1',
      RECONCILE_LEASE_SECONDS: '10',
      ...this.options.appEnv,
      ...this.simEnv,
      ...extraEnv,
    });
    if (this.app !== undefined) {
      this.extraApps.push(app);
    }
    return app;
  }

  /** Creates a test cluster with the tenant's namespaces and service account, registers and grants it. */
  async addCluster(name: string, labels: Record<string, string>): Promise<SimCluster> {
    const cluster = await this.prepareCluster(name);
    expect201(
      await this.api('POST', '/clusters', { name, kubeconfig: cluster.kubeconfig(), labels }),
      `register cluster ${name}`,
    );
    await this.grant(name);
    return cluster;
  }

  /** Creates a test cluster with the tenant's namespaces, service account and RBAC, without registering it. */
  async prepareCluster(name: string): Promise<SimCluster> {
    const cluster = await this.sim.addCluster({ name });
    this.clusters.set(name, cluster);
    const sa = this.serviceAccountName;
    for (const ns of this.namespaces) {
      cluster.seed(...tenantAccessObjects(ns, sa, this.namespaces[0]));
    }
    return cluster;
  }

  /** Grants the tenant its namespaces on a registered cluster (gitfleet's name for it). */
  async grant(clusterName: string): Promise<void> {
    expect201(
      await this.api('POST', `/clusters/${clusterName}/grants`, {
        tenant: this.tenant,
        namespaces: this.namespaces,
        serviceAccountName: this.serviceAccountName,
      }),
      `grant cluster ${clusterName}`,
    );
  }

  cluster(name: string): SimCluster {
    const c = this.clusters.get(name);
    if (c === undefined) {
      throw new Error(`no test cluster ${name}`);
    }
    return c;
  }

  async createGitSource(name: string, repo: TestRepository): Promise<void> {
    expect201(
      await this.api('POST', `/tenants/${this.tenant}/sources`, {
        name,
        kind: 'git',
        url: this.git.url(repo.path),
        reference: { branch: 'main' },
        intervalSeconds: 600,
        timeoutSeconds: 30,
        caCertificate: this.git.caCertificate,
      }),
      `create source ${name}`,
    );
  }

  async api(
    method: string,
    path: string,
    body?: unknown,
    app: AppProcess = this.app,
  ): Promise<ApiResponse> {
    return apiRequest(app.baseUrl, this.adminToken, method, path, body);
  }

  /** Polls until `probe` returns a value (not undefined) or the timeout passes. */
  async eventually<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 30_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined) {
          return value;
        }
      } catch (error) {
        lastError = error;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(
      `timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
    );
  }

  async targets(release: string): Promise<any[]> {
    const res = await this.api(
      'GET',
      `/tenants/${this.tenant}/releases/${release}/targets?limit=500`,
    );
    if (res.status !== 200) {
      throw new Error(`listing targets: ${res.status} ${res.text}`);
    }
    return res.body.items as any[];
  }

  /** Waits until every target of the release satisfies `ok`; returns them. */
  async waitForTargets(
    release: string,
    ok: (t: any) => boolean,
    count: number,
    timeoutMs = 45_000,
  ): Promise<any[]> {
    let last: any[] = [];
    try {
      return await this.eventually(
        `${count} targets of ${release} to match`,
        async () => {
          last = await this.targets(release);
          return last.length === count && last.every(ok) ? last : undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      const summary = last.map(
        (t) => `${t.cluster}: ${t.ready} ${t.lastResult} ${t.lastError ?? ''}`,
      );
      throw new Error(`${(error as Error).message}; last seen: ${summary.join(' | ')}`);
    }
  }

  async stop(): Promise<void> {
    for (const app of [...this.extraApps, this.app]) {
      if (app !== undefined && app.child.exitCode === null) {
        await app.stop();
      }
    }
    await this.sim?.stop();
    await this.git?.close();
    await this.repos?.dispose();
    if (this.databaseName !== undefined) {
      await dropDatabase(this.databaseName);
    }
  }
}

function expect201(res: ApiResponse, what: string): void {
  if (res.status !== 201) {
    throw new Error(`${what} failed: ${res.status} ${res.text}`);
  }
}
