import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { ClustersModule } from 'src/clusters/clusters.module';
import { EventsModule } from 'src/modules/events/events.module';
import { RenderingModule } from 'src/modules/rendering/rendering.module';
import { ReleasesModule } from 'src/modules/releases/releases.module';
import { SourcesModule } from 'src/modules/sources/sources.module';
import { GrantsModule } from 'src/tenants/grants/grants.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { ClusterApiPool } from './cluster-api.pool';
import { DiffController } from './diff.controller';
import { DiffService } from './diff.service';
import { ClusterLiveSnapshot } from './cluster-live-snapshot';
import { ReconcilerKubeModule } from './kube/kube.module';
import { ReconcileTriggers } from './reconcile-triggers.service';
import { ReconcileWorker } from './reconcile.worker';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';
import { RenderCache } from './render-cache';
import { TargetReconciler } from './target.reconciler';
import { ReconcileContextLoader } from './reconcile-context.loader';

const PROVIDERS = [
  {
    provide: RECONCILER_OPTIONS,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig): ReconcilerOptions => ({
      replicaId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      concurrency: config.reconcileConcurrency,
      perClusterConcurrency: config.reconcilePerClusterConcurrency,
      leaseMs: config.reconcileLeaseSeconds * 1000,
      pollIntervalMs: config.reconcilePollIntervalMs,
      resyncIntervalMs: config.reconcileResyncSeconds * 1000,
      maxBackoffMs: 5 * 60_000,
      enabled: config.reconcileEnabled,
    }),
  },
  ClusterApiPool,
  ClusterLiveSnapshot,
  RenderCache,
  ReconcilerMetrics,
  TargetReconciler,
  ReconcileContextLoader,
  ReconcileWorker,
  ReconcileTriggers,
  DiffService,
];

/** The reconcile engine: queue worker, triggers and the target pipeline. */
@Module({})
export class ReconcilerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ReconcilerModule,
      imports: [
        ReconcilerKubeModule,
        RenderingModule.forRoot({
          ...(config.kubectlPath === undefined ? {} : { kubectlPath: config.kubectlPath }),
          ...(config.helmPath === undefined ? {} : { helmPath: config.helmPath }),
          maxConcurrentProcesses: config.renderConcurrency,
          processTimeoutMs: config.renderTimeoutSeconds * 1000,
          maxObjects: config.renderMaxObjects,
        }),
        ReleasesModule,
        SourcesModule,
        ClustersModule,
        TenantsModule,
        GrantsModule,
        EventsModule,
      ],
      controllers: [DiffController],
      providers: PROVIDERS,
      exports: [ReconcileWorker, ReconcileTriggers, ClusterApiPool],
    };
  }
}
