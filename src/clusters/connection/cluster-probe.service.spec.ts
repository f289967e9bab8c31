import { describe, expect, it } from 'vitest';
import type { ClusterRepository } from 'src/clusters/cluster.repository';
import type { AppConfig } from 'src/common/config/config';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { TestClock } from 'test/support/coordination/test-clock';
import { MetricsService } from 'src/common/metrics/metrics.service';
import type { ClusterClientFactory } from './cluster-client.factory';
import { ClusterMetrics } from './cluster-metrics';
import { ClusterProbeService } from './cluster-probe.service';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { DomainEventBus } from 'src/common/events/domain-event-bus';

const CLUSTER = { id: 'c-1', name: 'prod-eu', conditions: [], kubernetesVersion: 'v1.34.5' };
const UNREACHABLE = {
  ...CLUSTER,
  conditions: [
    {
      type: 'Reachable',
      status: 'False',
      reason: 'ConnectionRefused',
      message: 'down',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
};

/** A probe whose database write waits until the test lets it finish. */
function setup(cluster: typeof CLUSTER | typeof UNREACHABLE = CLUSTER) {
  let finishWrite: () => void = () => undefined;
  let writeStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (writeStarted = resolve));
  const repository = {
    findById: () => Promise.resolve(cluster),
    recordProbe: () => {
      writeStarted();
      return new Promise<void>((resolve) => (finishWrite = resolve));
    },
  };
  const clients = {
    client: () => Promise.resolve({ getCode: () => Promise.resolve({ gitVersion: 'v1.34.5' }) }),
  };
  const metricsService = new MetricsService();
  const events = new DomainEventBus();
  const published: ClusterChanged[] = [];
  events.subscribe(ClusterChanged, (e) => {
    published.push(e);
  });
  const sut = new ClusterProbeService(
    { clusterProbeTimeoutSeconds: 5, clusterProbeIntervalSeconds: 30 } as AppConfig,
    repository as unknown as ClusterRepository,
    clients as unknown as ClusterClientFactory,
    new ClusterMetrics(metricsService),
    new PeriodicJobs({} as LeaseRepository, new TestClock(), 'replica-a'),
    events,
  );
  const series = async (): Promise<string> =>
    (await metricsService.registry.getSingleMetricAsString('gitfleet_cluster_reachable'))
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  return { sut, started, finish: () => finishWrite(), series, events, published };
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

  it('announces a cluster that answers again after it was unreachable', async () => {
    const { sut, started, finish, events, published } = setup(UNREACHABLE);
    const probe = sut.probe(CLUSTER.id);
    await started;
    finish();
    await probe;
    await events.idle();
    expect(published).toEqual([
      expect.objectContaining({ clusterId: 'c-1', clusterName: 'prod-eu', change: 'reachable' }),
    ]);
  });

  it('announces nothing for a cluster that was reachable already', async () => {
    const { sut, started, finish, events, published } = setup();
    const probe = sut.probe(CLUSTER.id);
    await started;
    finish();
    await probe;
    await events.idle();
    expect(published).toEqual([]);
  });
});
