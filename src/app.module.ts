import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AccessGuard } from 'src/common/auth/access.guard';
import type { AppConfig } from 'src/common/config/config';
import { ConfigModule } from 'src/common/config/config.module';
import { CoordinationModule } from 'src/common/coordination/coordination.module';
import { DatabaseModule } from 'src/common/database/database.module';
import { DomainEventsModule } from 'src/common/events/domain-events.module';
import { HealthModule } from 'src/common/health/health.module';
import { MetricsModule } from 'src/common/metrics/metrics.module';
import { CapiModule } from 'src/clusters/capi/capi.module';
import { ClustersModule } from 'src/clusters/clusters.module';
import { EventsApiModule } from 'src/modules/events/events-api.module';
import { EventsModule } from 'src/modules/events/events.module';
import { IdentityModule } from 'src/modules/identity/identity.module';
import { ReconcilerModule } from 'src/modules/reconciler/reconciler.module';
import { ReleasesModule } from 'src/modules/releases/releases.module';
import { SourcesModule } from 'src/modules/sources/sources.module';
import { GrantsModule } from 'src/tenants/grants/grants.module';
import { TenantsModule } from 'src/tenants/tenants.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    // One instance, imported twice: identity onboards through the engine's cluster connections.
    const reconciler = ReconcilerModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(databaseUrl, config.databasePoolSize),
        DomainEventsModule,
        CoordinationModule,
        ScheduleModule.forRoot(),
        MetricsModule,
        HealthModule,
        EventsModule,
        EventsApiModule,
        TenantsModule,
        ClustersModule,
        GrantsModule,
        IdentityModule.forRoot(reconciler),
        SourcesModule,
        ReleasesModule,
        reconciler,
        CapiModule,
      ],
      providers: [{ provide: APP_GUARD, useClass: AccessGuard }],
    };
  }
}
