import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ClusterClientFactory } from 'src/clusters/connection/cluster-client.factory';
import { KubeApiClient, KubeConnection } from './kube/kube-api.client';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';

interface PooledClient {
  readonly version: string;
  readonly client: KubeApiClient;
  readonly clusterName: string;
  /** Counts already exported, per verb, so the counter only ever grows by deltas. */
  readonly exported: Map<string, number>;
}

/**
 * One keep-alive API client per cluster, rebuilt when its kubeconfig changes
 * (rotation): the old client is closed and never used again.
 */
@Injectable()
export class ClusterApiPool implements OnModuleDestroy {
  private readonly clients = new Map<string, PooledClient>();

  constructor(
    private readonly factory: ClusterClientFactory,
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly metrics: ReconcilerMetrics,
  ) {
    metrics.onCollectKubeRequests(() => this.collect());
  }

  async clientFor(
    clusterId: string,
    kubeconfigVersion: number,
    /** Metric label: the cluster's name, never its id. */
    clusterName: string,
  ): Promise<KubeApiClient> {
    const version = String(kubeconfigVersion);
    const pooled = this.clients.get(clusterId);
    if (pooled !== undefined && pooled.version === version) {
      return pooled.client;
    }
    const kc = await this.factory.kubeConfig(clusterId);
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (cluster === null || user === null) {
      throw new Error('cluster connection has no cluster or user');
    }
    const connection: KubeConnection = {
      server: cluster.server,
      caData: cluster.caData,
      tlsServerName: cluster.tlsServerName,
      certData: user.certData,
      keyData: user.keyData,
      token: user.token,
      insecureSkipTlsVerify: cluster.skipTLSVerify,
    };
    const client = new KubeApiClient(connection, {
      // The replica shows in the cluster's audit log, which helps tracing two replicas.
      userAgent: `gitfleet/${this.options.replicaId}`,
    });
    if (pooled !== undefined) {
      this.exportCounts(pooled);
      pooled.client.close();
    }
    this.clients.set(clusterId, { version, client, clusterName, exported: new Map() });
    return client;
  }

  drop(clusterId: string): void {
    const pooled = this.clients.get(clusterId);
    if (pooled !== undefined) {
      this.metrics.kubeRequests.remove({ cluster: pooled.clusterName });
      pooled.client.close();
    }
    this.clients.delete(clusterId);
  }

  /** Moves the clients' request counts into the Prometheus counter (called on scrape). */
  collect(): void {
    for (const pooled of this.clients.values()) {
      this.exportCounts(pooled);
    }
  }

  private exportCounts(pooled: PooledClient): void {
    for (const [verb, n] of Object.entries(pooled.client.counters.byVerb)) {
      const delta = n - (pooled.exported.get(verb) ?? 0);
      if (delta > 0) {
        this.metrics.kubeRequests.inc({ cluster: pooled.clusterName, verb }, delta);
        pooled.exported.set(verb, n);
      }
    }
  }

  onModuleDestroy(): void {
    for (const { client } of this.clients.values()) {
      client.close();
    }
    this.clients.clear();
  }
}
