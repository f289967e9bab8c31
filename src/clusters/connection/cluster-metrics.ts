import { Injectable } from '@nestjs/common';
import { Gauge, Histogram } from 'prom-client';
import { MetricsService } from 'src/common/metrics/metrics.service';

/** Cluster health series. Label `cluster` is the registered name: bounded by the registry, never a secret. */
@Injectable()
export class ClusterMetrics {
  readonly reachable: Gauge<'cluster'>;
  readonly probeDuration: Histogram<'result'>;

  constructor(metrics: MetricsService) {
    this.reachable = new Gauge({
      name: 'gitfleet_cluster_reachable',
      help: '1 when the cluster API answered the last probe, 0 when it did not.',
      labelNames: ['cluster'],
      registers: [metrics.registry],
    });
    this.probeDuration = new Histogram({
      name: 'gitfleet_cluster_probe_duration_seconds',
      help: 'Duration of cluster API probes (GET /version) by result.',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
  }

  setReachable(cluster: string, reachable: boolean): void {
    this.reachable.set({ cluster }, reachable ? 1 : 0);
  }

  remove(cluster: string): void {
    this.reachable.remove({ cluster });
  }

  /** Replaces every series with the given state (removes clusters no longer registered). */
  replaceAll(states: readonly { name: string; reachable: boolean | undefined }[]): void {
    this.reachable.reset();
    for (const s of states) {
      if (s.reachable !== undefined) {
        this.setReachable(s.name, s.reachable);
      }
    }
  }
}
