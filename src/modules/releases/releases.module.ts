import { Module } from '@nestjs/common';
import { ClustersModule } from 'src/clusters/clusters.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { ReleaseRepository } from './release.repository';
import { ReleasesController } from './releases.controller';
import { ReleasesService } from './releases.service';
import { TargetRepository } from './target.repository';
import { TargetsService } from './targets.service';
import { RELEASE_SOURCE_LOOKUP, ReleaseSourceLookup } from './release-source.port';
import { SourcesModule } from 'src/modules/sources/sources.module';
import { SourcesService } from 'src/modules/sources/sources.service';

@Module({
  imports: [TenantsModule, ClustersModule, SourcesModule],
  controllers: [ReleasesController],
  providers: [
    ReleaseRepository,
    TargetRepository,
    ReleasesService,
    TargetsService,
    {
      provide: RELEASE_SOURCE_LOOKUP,
      inject: [SourcesService],
      useFactory: (sources: SourcesService): ReleaseSourceLookup => ({
        idOf: async (tenantId, name) => (await sources.get(tenantId, name)).id,
        namesByIds: async (tenantId, ids) =>
          new Map(
            await Promise.all(
              ids.map(async (id) => [id, (await sources.getById(tenantId, id)).name] as const),
            ),
          ),
      }),
    },
  ],
  exports: [ReleasesService, TargetsService, ReleaseRepository, TargetRepository],
})
export class ReleasesModule {}
