import { Module } from '@nestjs/common';
import { EventsModule } from 'src/modules/events/events.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { ClusterRepository } from './cluster.repository';
import { HostResolver } from 'src/common/net/host-resolver';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';
import { ClusterClientFactory } from './connection/cluster-client.factory';
import { ClusterMetrics } from './connection/cluster-metrics';
import { ClusterProbeService } from './connection/cluster-probe.service';
import { VaultModule } from 'src/common/vault/vault.module';

/** Cluster registry, kubeconfig vault, client factory and health probes. */
@Module({
  imports: [VaultModule, TenantsModule, EventsModule],
  controllers: [ClustersController],
  providers: [
    ClusterRepository,
    ClustersService,
    ClusterClientFactory,
    ClusterMetrics,
    ClusterProbeService,
    HostResolver,
  ],
  exports: [ClustersService, ClusterClientFactory, ClusterProbeService, VaultModule],
})
export class ClustersModule {}
