import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { ClusterClientFactory } from 'src/clusters/connection/cluster-client.factory';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import { createKubeApiClient } from 'src/common/kube/kube-client.factory';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';

interface PooledClient {
  readonly version: string;
  readonly client: KubeApiClient;
  readonly clusterName: string;
  /** Counts already exported, per verb, so the counter only ever grows by deltas. */
  readonly exported: Map<string, number>;
  /** Verbs with a series for this cluster, across rebuilt clients: what `drop` removes. */
  readonly verbs: Set<string>;
}

/**
 * One keep-alive API client per cluster, rebuilt when its kubeconfig changes
 * (rotation): the old client is closed and never used again.
 */
@Injectable()
export class ClusterApiPool implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly clients = new Map<string, PooledClient>();
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly factory: ClusterClientFactory,
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly metrics: ReconcilerMetrics,
    private readonly events: DomainEventBus,
  ) {
    metrics.onCollectKubeRequests(() => this.collect());
  }

  onApplicationBootstrap(): void {
    // A deleted cluster's connection and request series go with it.
    this.unsubscribe = this.events.subscribe(
      ClusterChanged,
      (event) => {
        if (event.change === 'deleted') {
          this.drop(event.clusterId);
        }
      },
      'ClusterApiPool.drop',
    );
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
    const client = createKubeApiClient(kc, {
      // The replica shows in the cluster's audit log, which helps tracing two replicas.
      userAgent: `gitfleet/${this.options.replicaId}`,
    });
    if (pooled !== undefined) {
      this.exportCounts(pooled);
      pooled.client.close();
    }
    this.clients.set(clusterId, {
      version,
      client,
      clusterName,
      exported: new Map(),
      verbs: pooled?.verbs ?? new Set(),
    });
    return client;
  }

  drop(clusterId: string): void {
    const pooled = this.clients.get(clusterId);
    if (pooled !== undefined) {
      // A series is removed by its full label set only.
      for (const verb of pooled.verbs) {
        this.metrics.kubeRequests.remove({ cluster: pooled.clusterName, verb });
      }
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
        pooled.verbs.add(verb);
      }
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    for (const { client } of this.clients.values()) {
      client.close();
    }
    this.clients.clear();
  }
}
