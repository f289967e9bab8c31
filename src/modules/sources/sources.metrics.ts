import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from 'src/common/metrics/metrics.service';
import type { SourceKind } from 'src/modules/sources/source.types';

/** Result label values: bounded, never an error text. */
export type FetchResult = 'success' | 'failure' | 'stale';

/** Source metrics. Labels are bounded: kind and result only, never URLs, names or credentials. */
@Injectable()
export class SourceMetrics {
  readonly fetchDuration: Histogram<'kind' | 'result'>;
  readonly fetchTotal: Counter<'kind' | 'result'>;
  readonly cacheBytes: Gauge;

  constructor(metrics: MetricsService) {
    this.fetchDuration = new Histogram({
      name: 'gitfleet_source_fetch_duration_seconds',
      help: 'Duration of source fetches (resolve, download, checkout, store) by kind and result.',
      labelNames: ['kind', 'result'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [metrics.registry],
    });
    this.fetchTotal = new Counter({
      name: 'gitfleet_source_fetch_total',
      help: 'Source fetches by kind and result (success, failure, stale: dropped by the fencing token).',
      labelNames: ['kind', 'result'],
      registers: [metrics.registry],
    });
    this.cacheBytes = new Gauge({
      name: 'gitfleet_artifact_cache_bytes',
      help: "Bytes of artifacts in this replica's artifact cache.",
      registers: [metrics.registry],
    });
  }

  observeFetch(kind: SourceKind, result: FetchResult, seconds: number): void {
    this.fetchDuration.observe({ kind, result }, seconds);
    this.fetchTotal.inc({ kind, result });
  }
}
