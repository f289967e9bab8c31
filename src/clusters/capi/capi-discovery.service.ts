import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import type { JobTick, LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { CAPI_CLUSTER_NAME_LABEL, CAPI_GROUP, CAPI_VERSIONS } from './capi-cluster';
import { CapiClusterRepository } from './capi-cluster.repository';
import { CapiSyncService } from './capi-sync.service';
import { Informer } from './informer';
import { kubeconfigSecretName } from './kubeconfig-secret';
import { KeyedQueue } from './keyed-queue';
import { type Dict, ManagementClient } from './management-client';
import { type ManagementConnection, resolveManagementConnection } from './management-connection';
import { startupDelays } from './startup-spread';

const LEASE = 'capi-discovery';
const SYNC_CONCURRENCY = 4;
const CRD_RETRY_MS = 30_000;

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

function metaOf(obj: Dict): {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  resourceVersion: string;
} {
  const m = (obj.metadata ?? {}) as {
    namespace?: string;
    name?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
  };
  return {
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    labels: m.labels ?? {},
    resourceVersion: m.resourceVersion ?? '',
  };
}

/** One watch session, on the replica holding the lease. */
class WatchSession {
  private readonly cache = new Map<string, Dict>();
  /**
   * The kubeconfig Secret's resourceVersion per Cluster key, from the
   * metadata-only Secret watch: the sync reads the Secret itself only when
   * this differs from the version it read last.
   */
  private readonly secretVersions = new Map<string, string>();
  private readonly informers: Informer[] = [];
  private readonly clusterInformers: Informer[] = [];
  private readonly queue: KeyedQueue;
  private crdTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: ManagementClient,
    private readonly config: AppConfig,
    private readonly sync: CapiSyncService,
    private readonly records: CapiClusterRepository,
    private readonly logger: Logger,
  ) {
    this.queue = new KeyedQueue(
      (key) => this.process(key),
      SYNC_CONCURRENCY,
      (key, error, retryInMs) =>
        this.logger.warn({
          msg: 'Cluster API Cluster sync failed; retrying',
          capiCluster: key,
          error: error instanceof Error ? error.message : String(error),
          retryInMs,
        }),
    );
  }

  async start(): Promise<void> {
    const version = await this.servedVersion().catch((error: unknown) => {
      this.logger.warn({
        msg: 'Cluster API discovery failed; retrying',
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    });
    if (this.stopped) {
      return;
    }
    if (version === undefined) {
      this.crdTimer = setTimeout(() => void this.start(), CRD_RETRY_MS);
      return;
    }
    // Clusters already registered need no spreading: only newly found ones start reconciles.
    const registered = new Set(
      (await this.records.list())
        .filter((r) => r.clusterId !== null)
        .map((r) => keyOf(r.namespace, r.name)),
    );
    const namespaces = this.config.capiNamespaces.length > 0 ? this.config.capiNamespaces : [''];
    const resyncMs = this.config.capiResyncSeconds * 1000;
    const log = (entry: Record<string, unknown>): void => this.logger.warn(entry);
    for (const ns of namespaces) {
      const scope = ns === '' ? '' : `/namespaces/${encodeURIComponent(ns)}`;
      const clusters = new Informer(
        this.client,
        `/apis/${CAPI_GROUP}/${version}${scope}/clusters`,
        {},
        {
          replaced: (items, initial) => this.replaced(ns, items, initial, registered),
          changed: (type, obj) => this.changed(type, obj),
        },
        { resyncMs, log },
      );
      const secrets = new Informer(
        this.client,
        `/api/v1${scope}/secrets`,
        { labelSelector: CAPI_CLUSTER_NAME_LABEL },
        {
          replaced: (items) => this.secretsReplaced(ns, items),
          changed: (type, obj) => this.secretChanged(type, obj),
        },
        // Metadata only: the Secrets' data (kubeconfigs) never travels with the watch.
        { resyncMs, log, metadataOnly: true },
      );
      this.clusterInformers.push(clusters);
      this.informers.push(clusters, secrets);
    }
    this.logger.log({
      msg: 'watching Cluster API Clusters',
      version: `${CAPI_GROUP}/${version}`,
      namespaces: this.config.capiNamespaces.length > 0 ? this.config.capiNamespaces : 'all',
    });
    this.informers.forEach((i) => i.start());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.crdTimer);
    this.queue.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** v1beta2 when served, else v1beta1; undefined when Cluster API is not installed. */
  private async servedVersion(): Promise<string | undefined> {
    const group = await this.client.get(`/apis/${CAPI_GROUP}`);
    const served = new Set(
      ((group?.versions ?? []) as { version?: string }[]).map((v) => v.version),
    );
    const version = CAPI_VERSIONS.find((v) => served.has(v));
    if (version === undefined) {
      this.logger.warn({
        msg: `Cluster API is not installed in the management cluster (no ${CAPI_GROUP} v1beta2/v1beta1); checking again later`,
      });
    }
    return version;
  }

  private replaced(
    namespace: string,
    items: readonly Dict[],
    initial: boolean,
    registered: ReadonlySet<string>,
  ): void {
    const seen = new Set<string>();
    const fresh: string[] = [];
    for (const obj of items) {
      const m = metaOf(obj);
      const key = keyOf(m.namespace, m.name);
      seen.add(key);
      this.cache.set(key, obj);
      if (initial && !registered.has(key)) {
        fresh.push(key);
      } else {
        this.queue.add(key);
      }
    }
    // Spread the first registrations (and so the first reconciles) of clusters found at start-up.
    const delays = startupDelays(fresh.length, this.config.capiStartupSpreadSeconds * 1000);
    fresh.forEach((key, i) => this.queue.add(key, delays[i]));
    for (const key of [...this.cache.keys()]) {
      const inScope = namespace === '' || key.startsWith(`${namespace}/`);
      if (inScope && !seen.has(key)) {
        this.cache.delete(key);
        this.queue.add(key);
      }
    }
  }

  private changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Dict): void {
    const m = metaOf(obj);
    const key = keyOf(m.namespace, m.name);
    if (type === 'DELETED') {
      this.cache.delete(key);
    } else {
      this.cache.set(key, obj);
    }
    this.queue.add(key);
  }

  private secretsReplaced(namespace: string, items: readonly Dict[]): void {
    const seen = new Set<string>();
    for (const s of items) {
      const key = this.secretChanged('ADDED', s);
      if (key !== undefined) {
        seen.add(key);
      }
    }
    for (const key of [...this.secretVersions.keys()]) {
      const inScope = namespace === '' || key.startsWith(`${namespace}/`);
      if (inScope && !seen.has(key)) {
        this.secretVersions.delete(key);
        if (this.cache.has(key)) {
          this.queue.add(key);
        }
      }
    }
  }

  /** The Cluster key the Secret belongs to, if it is a kubeconfig Secret of one. */
  private secretChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', secret: Dict): string | undefined {
    const m = metaOf(secret);
    const cluster = m.labels[CAPI_CLUSTER_NAME_LABEL];
    if (cluster === undefined || m.name !== kubeconfigSecretName(cluster)) {
      return undefined;
    }
    const key = keyOf(m.namespace, cluster);
    const before = this.secretVersions.get(key);
    if (type === 'DELETED') {
      this.secretVersions.delete(key);
    } else {
      this.secretVersions.set(key, m.resourceVersion);
    }
    if (this.cache.has(key) && before !== this.secretVersions.get(key)) {
      this.queue.add(key);
    }
    return key;
  }

  private async process(key: string): Promise<void> {
    // "Gone" is only believed from a complete list or a DELETED event of a synced watch.
    if (!this.clusterInformers.every((i) => i.hasSynced)) {
      throw new Error('the Cluster watch has not listed yet');
    }
    const slash = key.indexOf('/');
    await this.sync.sync(
      this.client,
      { namespace: key.slice(0, slash), name: key.slice(slash + 1) },
      this.cache.get(key),
      this.secretVersions.get(key),
    );
  }
}

/**
 * Cluster API discovery: on the one replica holding the `capi-discovery`
 * lease, watches `clusters.cluster.x-k8s.io` (and the kubeconfig Secrets) in
 * the management cluster and syncs each Cluster into the registry. The lease
 * is renewed every third of its time; a replica that cannot renew stops
 * watching before the lease can pass to another.
 */
@Injectable()
export class CapiDiscoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CapiDiscoveryService.name);
  private readonly job: LeasedPeriodicJob;
  private connection: ManagementConnection | undefined;
  private client: ManagementClient | undefined;
  private session: WatchSession | undefined;
  private renewedAt = 0;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: PeriodicJobs,
    private readonly sync: CapiSyncService,
    private readonly records: CapiClusterRepository,
  ) {
    const ttlMs = config.capiLeaseSeconds * 1000;
    // Renewed every third of the lease; every replica ticks, the holder watches.
    this.job = jobs.create({
      name: 'Cluster API discovery',
      intervalMs: ttlMs / 3,
      enabled: config.capiDiscoveryEnabled,
      lease: { name: LEASE, ttlMs, runWhenNotHeld: true },
      run: (tick) => this.tick(tick),
    });
  }

  get watching(): boolean {
    return this.session !== undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.config.capiDiscoveryEnabled) {
      return;
    }
    const resolved = resolveManagementConnection(this.config);
    if (resolved.kind === 'none') {
      this.logger.log({
        msg: 'no management cluster connection (MANAGEMENT_KUBECONFIG unset, not in a pod): Cluster API discovery is off',
      });
      return;
    }
    if (resolved.kind === 'invalid') {
      this.logger.error({ msg: `Cluster API discovery is off: ${resolved.message}` });
      return;
    }
    this.connection = resolved.connection;
    this.logger.log({
      msg: 'Cluster API discovery enabled',
      connection: resolved.connection.origin,
    });
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    // The watch stops before the lease is handed back, so two replicas never watch at once.
    await this.job.stop(() => this.stopSession());
  }

  private async tick(tick: JobTick): Promise<void> {
    if (this.stopped || this.connection === undefined) {
      return;
    }
    const ttlMs = this.config.capiLeaseSeconds * 1000;
    try {
      if (tick.lease === 'held') {
        this.renewedAt = this.jobs.clock.now();
        if (this.session === undefined && !this.stopped) {
          this.logger.log({ msg: 'Cluster API discovery lease acquired: watching' });
          this.client = new ManagementClient(this.connection);
          this.session = new WatchSession(
            this.client,
            this.config,
            this.sync,
            this.records,
            this.logger,
          );
          await this.session.start();
        }
      } else if (tick.lease === 'notHeld' && this.session !== undefined) {
        this.logger.warn({ msg: 'Cluster API discovery lease lost: another replica watches now' });
        await this.stopSession();
      } else if (tick.lease === 'unavailable') {
        await this.unrenewed(ttlMs);
      }
    } catch (error) {
      this.logger.warn({
        msg: 'Cluster API discovery could not start watching',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Without a renewal we cannot know we still hold the lease: stop before it can expire. */
  private async unrenewed(ttlMs: number): Promise<void> {
    this.logger.warn({ msg: 'Cluster API discovery lease could not be renewed' });
    if (this.session !== undefined && this.jobs.clock.now() - this.renewedAt > ttlMs * 0.66) {
      await this.stopSession();
    }
  }

  private async stopSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.stop();
    this.client?.close();
    this.client = undefined;
  }
}
