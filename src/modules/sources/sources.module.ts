import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import { EventsModule } from 'src/modules/events/events.module';
import { SOURCES_ENGINE_PROVIDERS } from 'src/modules/sources/sources-engine.providers';
import { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import { SourceScheduler } from 'src/modules/sources/source-scheduler';
import { SourceReconciler } from 'src/modules/sources/source.reconciler';
import { SourceRepository } from 'src/modules/sources/source.repository';
import { SourcesController } from 'src/modules/sources/sources.controller';
import { SourceMetrics } from 'src/modules/sources/sources.metrics';
import {
  defaultSourcesOptions,
  SOURCES_OPTIONS,
  type SourcesOptions,
} from 'src/modules/sources/sources.options';
import { SourcesService } from 'src/modules/sources/sources.service';
import { TenantScopePipe } from 'src/common/api/tenant-scope.pipe';
import { TenantsModule } from 'src/tenants/tenants.module';

export function sourcesOptionsFromConfig(config: AppConfig): SourcesOptions {
  return defaultSourcesOptions({
    cacheDir: join(config.dataDir, 'artifacts'),
    maxCacheBytes: config.sourceCacheMaxBytes,
    allowHttp: config.sourceAllowHttp,
    symlinkPolicy: config.sourceSymlinkPolicy,
    limits: {
      maxRepositorySizeBytes: config.sourceMaxRepositoryBytes,
      maxFileCount: config.sourceMaxFileCount,
      maxFileSizeBytes: config.sourceMaxFileBytes,
    },
  });
}

/**
 * Sources: the API, the fetch scheduler and the artifact cache. Exports
 * SourcesService (getReleaseArtifact, releaseArtifactOf, getChart); publishes SourceRevisionChanged.
 */
@Module({
  imports: [TenantsModule, EventsModule],
  controllers: [SourcesController],
  providers: [
    { provide: SOURCES_OPTIONS, useFactory: sourcesOptionsFromConfig, inject: [APP_CONFIG] },
    ...SOURCES_ENGINE_PROVIDERS,
    SourceRepository,
    SourceCredentialsCodec,
    SourceMetrics,
    SourceReconciler,
    SourceScheduler,
    SourcesService,
    TenantScopePipe,
  ],
  exports: [SourcesService],
})
export class SourcesModule {}
