import { Module } from '@nestjs/common';
import { Applier } from './applier.service';
import { HealthChecker } from './health-checker.service';
import { KubeClock, SystemKubeClock } from './kube-clock';
import { LiveReader } from './live-reader';
import { Pruner } from './pruner.service';

/** The Kubernetes-facing core of the reconciler: apply, prune, health, drift. No database. */
@Module({
  providers: [
    { provide: KubeClock, useClass: SystemKubeClock },
    LiveReader,
    Applier,
    Pruner,
    HealthChecker,
  ],
  exports: [KubeClock, LiveReader, Applier, Pruner, HealthChecker],
})
export class ReconcilerKubeModule {}
