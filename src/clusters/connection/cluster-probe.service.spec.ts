import { describe, expect, it } from 'vitest';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { ClusterRepository } from 'src/clusters/cluster.repository';
import type { AppConfig } from 'src/common/config/config';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { MetricsService } from 'src/common/metrics/metrics.service';
import type { ClusterClientFactory } from './cluster-client.factory';
import { ClusterMetrics } from './cluster-metrics';
import { ClusterProbeService } from './cluster-probe.service';

const CLUSTER = { id: 'c-1', name: 'prod-eu', conditions: [], kubernetesVersion: 'v1.34.5' };

/** A probe whose database write waits until the test lets it finish. */
function setup() {
  let finishWrite: () => void = () => undefined;
  let writeStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (writeStarted = resolve));
  const repository = {
    findById: () => Promise.resolve(CLUSTER),
    recordProbe: () => {
      writeStarted();
      return new Promise<void>((resolve) => (finishWrite = resolve));
    },
  };
  const clients = {
    client: () => Promise.resolve({ getCode: () => Promise.resolve({ gitVersion: 'v1.34.5' }) }),
  };
  const metricsService = new MetricsService();
  const sut = new ClusterProbeService(
    { clusterProbeTimeoutSeconds: 5, clusterProbeIntervalSeconds: 30 } as AppConfig,
    repository as unknown as ClusterRepository,
    clients as unknown as ClusterClientFactory,
    new ClusterMetrics(metricsService),
    {} as LeaseRepository,
    {} as SchedulerRegistry,
  );
  const series = async (): Promise<string> =>
    (await metricsService.registry.getSingleMetricAsString('gitfleet_cluster_reachable'))
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  return { sut, started, finish: () => finishWrite(), series };
}

describe('ClusterProbeService', () => {
  it('records reachability of a probed cluster', async () => {
    const { sut, started, finish, series } = setup();
    const probe = sut.probe(CLUSTER.id);
    await started;
    finish();
    expect(await probe).toMatchObject({ reachable: true });
    expect(await series()).toContain('gitfleet_cluster_reachable{cluster="prod-eu"} 1');
  });

  it('does not bring back the series of a cluster deleted while its probe ran', async () => {
    const { sut, started, finish, series } = setup();
    const probe = sut.probe(CLUSTER.id);
    await started;
    sut.forget(CLUSTER);
    finish();
    await probe;
    expect(await series()).not.toContain('prod-eu');
  });
});
