import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from 'src/common/metrics/metrics.service';
import type { TargetCounts, TargetResult } from 'src/modules/releases/releases.types';

export interface TargetLabels {
  tenant: string;
  cluster: string;
  release: string;
}

/** Reconcile metrics. Labels are names of registered objects, never user input or ids. */
@Injectable()
export class ReconcilerMetrics {
  readonly duration: Histogram<'tenant'>;
  readonly results: Counter<'tenant' | 'result'>;
  readonly objects: Counter<'tenant' | 'action'>;
  readonly ready: Gauge<'tenant' | 'cluster' | 'release' | 'status'>;
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;
  readonly kubeRequests: Counter<'cluster' | 'verb'>;
  private collectKubeRequests: () => void = () => undefined;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.duration = new Histogram({
      name: 'gitfleet_reconcile_duration_seconds',
      help: 'Duration of target reconciles.',
      labelNames: ['tenant'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.results = new Counter({
      name: 'gitfleet_reconcile_total',
      help: 'Target reconciles by result.',
      labelNames: ['tenant', 'result'],
      registers,
    });
    this.objects = new Counter({
      name: 'gitfleet_reconcile_objects_total',
      help: 'Objects applied, pruned, left unchanged or corrected for drift.',
      labelNames: ['tenant', 'action'],
      registers,
    });
    this.ready = new Gauge({
      name: 'gitfleet_target_condition',
      help: 'Ready condition of each target (1 for the current status).',
      labelNames: ['tenant', 'cluster', 'release', 'status'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'gitfleet_reconcile_queue_depth',
      help: 'Targets due for reconciliation.',
      registers,
    });
    const collectKubeRequests = (): void => this.collectKubeRequests();
    this.kubeRequests = new Counter({
      name: 'gitfleet_kube_api_requests_total',
      help: 'Kubernetes API requests made by the reconciler, by cluster and verb.',
      labelNames: ['cluster', 'verb'],
      registers,
      collect: collectKubeRequests,
    });
    this.inFlight = new Gauge({
      name: 'gitfleet_reconcile_in_flight',
      help: 'Target reconciles running on this replica.',
      registers,
    });
  }

  onCollectKubeRequests(fn: () => void): void {
    this.collectKubeRequests = fn;
  }

  observe(
    labels: TargetLabels,
    result: TargetResult,
    seconds: number,
    counts: TargetCounts | undefined,
  ): void {
    this.duration.observe({ tenant: labels.tenant }, seconds);
    this.results.inc({ tenant: labels.tenant, result });
    if (counts !== undefined) {
      this.objects.inc({ tenant: labels.tenant, action: 'applied' }, counts.applied);
      this.objects.inc({ tenant: labels.tenant, action: 'unchanged' }, counts.unchanged);
      this.objects.inc({ tenant: labels.tenant, action: 'pruned' }, counts.pruned);
      this.objects.inc({ tenant: labels.tenant, action: 'drifted' }, counts.drifted);
    }
  }

  setReady(labels: TargetLabels, status: string): void {
    for (const s of ['True', 'False', 'Unknown']) {
      this.ready.set({ ...labels, status: s }, s === status ? 1 : 0);
    }
  }

  /** Series go with the target. */
  removeTarget(labels: TargetLabels): void {
    for (const s of ['True', 'False', 'Unknown']) {
      this.ready.remove({ ...labels, status: s });
    }
  }
}
