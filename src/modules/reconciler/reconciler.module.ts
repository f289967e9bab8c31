import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { REPLICA_ID } from 'src/common/coordination/replica-id';
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
import { AdmitStep } from './pipeline/admit.step';
import { ApplyStep } from './pipeline/apply.step';
import { ArtifactStep } from './pipeline/artifact.step';
import { ConvergePipeline } from './pipeline/converge.pipeline';
import { DependenciesStep } from './pipeline/dependencies.step';
import { HealthStep } from './pipeline/health.step';
import { LeaseKeeper } from './pipeline/lease-keeper';
import { OwnershipCheck } from './pipeline/ownership.check';
import { PruneStep } from './pipeline/prune.step';
import { RenderStep } from './pipeline/render.step';
import { SubstituteFromReader } from './pipeline/substitute-from';
import { TargetPlanner } from './target.planner';
import { TargetQueueRepository } from './target-queue.repository';
import { TargetReconciler } from './target.reconciler';
import { TargetStatusRecorder } from './target-status.recorder';
import { ReconcileContextLoader } from './reconcile-context.loader';

const PROVIDERS = [
  {
    provide: RECONCILER_OPTIONS,
    inject: [APP_CONFIG, REPLICA_ID],
    useFactory: (config: AppConfig, replicaId: string): ReconcilerOptions => ({
      replicaId,
      concurrency: config.reconcileConcurrency,
      perClusterConcurrency: config.reconcilePerClusterConcurrency,
      leaseMs: config.reconcileLeaseSeconds * 1000,
      pollIntervalMs: config.reconcilePollIntervalMs,
      resyncIntervalMs: config.reconcileResyncSeconds * 1000,
      maxBackoffMs: 5 * 60_000,
      workerEnabled: config.reconcileWorkerEnabled,
      resyncEnabled: config.reconcileResyncEnabled,
    }),
  },
  ClusterApiPool,
  ClusterLiveSnapshot,
  RenderCache,
  ReconcilerMetrics,
  LeaseKeeper,
  DependenciesStep,
  ArtifactStep,
  RenderStep,
  SubstituteFromReader,
  AdmitStep,
  OwnershipCheck,
  ApplyStep,
  PruneStep,
  HealthStep,
  ConvergePipeline,
  TargetStatusRecorder,
  TargetPlanner,
  TargetReconciler,
  TargetQueueRepository,
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
          strictPostBuildSubstitutions: config.strictPostBuildSubstitutions,
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
