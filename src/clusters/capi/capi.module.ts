import { Module } from '@nestjs/common';
import { ClustersModule } from 'src/clusters/clusters.module';
import { CapiClusterRepository } from './capi-cluster.repository';
import { CapiDiscoveryService } from './capi-discovery.service';
import { CapiSyncService } from './capi-sync.service';
import { CapiController } from './capi.controller';
import { CapiService } from './capi.service';

/** Cluster API discovery: registers, updates and retires the workload clusters Cluster API manages. */
@Module({
  imports: [ClustersModule],
  controllers: [CapiController],
  providers: [CapiClusterRepository, CapiService, CapiSyncService, CapiDiscoveryService],
})
export class CapiModule {}
