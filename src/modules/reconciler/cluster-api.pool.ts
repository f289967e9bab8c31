import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ClusterClientFactory } from 'src/clusters/connection/cluster-client.factory';
import { KubeApiClient, KubeConnection } from './kube/kube-api.client';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';

interface PooledClient {
  readonly version: string;
  readonly client: KubeApiClient;
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
  ) {}

  async clientFor(clusterId: string, kubeconfigVersion: number): Promise<KubeApiClient> {
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
    pooled?.client.close();
    this.clients.set(clusterId, { version, client });
    return client;
  }

  drop(clusterId: string): void {
    this.clients.get(clusterId)?.client.close();
    this.clients.delete(clusterId);
  }

  onModuleDestroy(): void {
    for (const { client } of this.clients.values()) {
      client.close();
    }
    this.clients.clear();
  }
}
