import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { LeaseRepository } from 'src/common/database/lease.repository';
import { CAPI_CLUSTER_NAME_LABEL, CAPI_GROUP, CAPI_VERSIONS } from './capi-cluster';
import { CapiClusterRepository } from './capi-cluster.repository';
import { CapiSyncService } from './capi-sync.service';
import { Informer } from './informer';
import { KeyedQueue } from './keyed-queue';
import { type Dict, ManagementClient } from './management-client';
import { type ManagementConnection, resolveManagementConnection } from './management-connection';
import { startupDelays } from './startup-spread';

const LEASE = 'capi-discovery';
const SYNC_CONCURRENCY = 4;
const CRD_RETRY_MS = 30_000;

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

function metaOf(obj: Dict): { namespace: string; name: string; labels: Record<string, string> } {
  const m = (obj.metadata ?? {}) as {
    namespace?: string;
    name?: string;
    labels?: Record<string, string>;
  };
  return { namespace: m.namespace ?? '', name: m.name ?? '', labels: m.labels ?? {} };
}

/** One watch session, on the replica holding the lease. */
class WatchSession {
  private readonly cache = new Map<string, Dict>();
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
          replaced: (items) => items.forEach((s) => this.secretChanged(s)),
          changed: (_type, obj) => this.secretChanged(obj),
        },
        { resyncMs, log },
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

  private secretChanged(secret: Dict): void {
    const m = metaOf(secret);
    const cluster = m.labels[CAPI_CLUSTER_NAME_LABEL];
    if (cluster === undefined) {
      return;
    }
    const key = keyOf(m.namespace, cluster);
    if (this.cache.has(key)) {
      this.queue.add(key);
    }
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
  private readonly replica = randomUUID();
  private connection: ManagementConnection | undefined;
  private client: ManagementClient | undefined;
  private session: WatchSession | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewedAt = 0;
  private ticking = false;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly leases: LeaseRepository,
    private readonly sync: CapiSyncService,
    private readonly records: CapiClusterRepository,
  ) {}

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
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const held = this.session !== undefined;
    await this.stopSession();
    if (held) {
      await this.leases.release(LEASE, this.replica).catch(() => undefined);
    }
  }

  private schedule(): void {
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), (this.config.capiLeaseSeconds * 1000) / 3);
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped || this.connection === undefined) {
      return;
    }
    this.ticking = true;
    const ttlMs = this.config.capiLeaseSeconds * 1000;
    try {
      const lease = await this.leases.tryAcquire(LEASE, this.replica, ttlMs);
      if (lease !== undefined) {
        this.renewedAt = Date.now();
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
      } else if (this.session !== undefined) {
        this.logger.warn({ msg: 'Cluster API discovery lease lost: another replica watches now' });
        await this.stopSession();
      }
    } catch (error) {
      this.logger.warn({
        msg: 'Cluster API discovery lease could not be renewed',
        error: error instanceof Error ? error.message : String(error),
      });
      // Without a renewal we cannot know we still hold it: stop before it can expire.
      if (this.session !== undefined && Date.now() - this.renewedAt > ttlMs * 0.66) {
        await this.stopSession();
      }
    } finally {
      this.ticking = false;
      this.schedule();
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
