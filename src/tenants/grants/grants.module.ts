import { Module } from '@nestjs/common';
import { ClustersModule } from 'src/clusters/clusters.module';
import { EventsModule } from 'src/modules/events/events.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { GrantRepository } from './grant.repository';
import { GrantsController } from './grants.controller';
import { GrantsService } from './grants.service';

/** Grants: a tenant's namespaces on a cluster. Sits above tenants and clusters. */
@Module({
  imports: [TenantsModule, ClustersModule, EventsModule],
  controllers: [GrantsController],
  providers: [GrantRepository, GrantsService],
  exports: [GrantsService],
})
export class GrantsModule {}
