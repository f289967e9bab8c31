import { Module } from '@nestjs/common';
import { ClustersModule } from 'src/clusters/clusters.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { ReleaseRepository } from './release.repository';
import { ReleasesController } from './releases.controller';
import { ReleasesService } from './releases.service';
import { TargetRepository } from './target.repository';
import { TargetsService } from './targets.service';
import { RELEASE_SOURCE_LOOKUP } from './release-source.port';
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
    // SourcesService answers both lookups itself (names in one query).
    { provide: RELEASE_SOURCE_LOOKUP, useExisting: SourcesService },
  ],
  exports: [ReleasesService, TargetsService],
})
export class ReleasesModule {}
