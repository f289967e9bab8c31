import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { Observable, RequestContext, ResponseContext, VersionApi } from '@kubernetes/client-node';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import type { Clock } from 'src/common/coordination/clock';
import type { JobTick, LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { AppError } from 'src/common/errors/app-error';
import { ClusterRepository } from 'src/clusters/cluster.repository';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { ClusterMetrics } from './cluster-metrics';
import { ClusterClientFactory } from './cluster-client.factory';
import {
  classifyProbeError,
  conditionsAfterProbe,
  conditionsEqual,
  ProbeReason,
  ProbeResult,
} from './probe-result';

const PROBE_LEASE = 'cluster-probes';
const MAX_BACKOFF_INTERVALS = 10;

interface Backoff {
  failures: number;
  nextDue: number;
}

/**
 * Keeps every cluster's `Reachable` and `Ready` conditions current by
 * probing `GET /version`. Each probe has its own timeout and slot in a
 * bounded pool, so one slow cluster never delays the others; failing
 * clusters back off. One replica probes at a time (lease); every replica
 * exports the gauges from the database.
 */
/** Longer than any probe or gauge refresh can take. */
const DELETED_MEMORY_MS = 10 * 60_000;

@Injectable()
export class ClusterProbeService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ClusterProbeService.name);
  private readonly job: LeasedPeriodicJob;
  private readonly clock: Clock;
  private readonly inFlight = new Set<string>();
  private readonly backoff = new Map<string, Backoff>();
  /** Ids of clusters deleted lately, by deletion time (ids are never reused). */
  private readonly deleted = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clusters: ClusterRepository,
    private readonly clients: ClusterClientFactory,
    private readonly metrics: ClusterMetrics,
    jobs: PeriodicJobs,
    private readonly events: DomainEventBus,
  ) {
    this.clock = jobs.clock;
    const intervalMs = config.clusterProbeIntervalSeconds * 1000;
    // Every replica refreshes its gauges each tick; only the lease holder probes.
    this.job = jobs.create({
      name: 'cluster probes',
      intervalMs,
      initialDelayMs: intervalMs,
      enabled: config.clusterProbeEnabled,
      lease: { name: PROBE_LEASE, ttlMs: intervalMs * 3, runWhenNotHeld: true },
      run: (tick) => this.runTick(tick),
    });
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.job.stop();
  }

  /** Probes one cluster now, records the result and returns it. */
  async probe(clusterId: string): Promise<ProbeResult> {
    this.inFlight.add(clusterId);
    try {
      const result = await this.check(clusterId);
      await this.record(clusterId, result);
      return result;
    } finally {
      this.inFlight.delete(clusterId);
    }
  }

  /** Forgets the backoff of a cluster (its credentials changed). */
  reset(clusterId: string): void {
    this.backoff.delete(clusterId);
  }

  /**
   * The cluster is gone: drop its backoff and its series, and remember the id for a
   * while so a probe or gauge refresh already in flight cannot bring the series back.
   */
  forget(cluster: { id: string; name: string }): void {
    this.backoff.delete(cluster.id);
    this.deleted.set(cluster.id, this.clock.now());
    this.metrics.remove(cluster.name);
  }

  private sweepDeleted(): void {
    const cutoff = this.clock.now() - DELETED_MEMORY_MS;
    for (const [id, at] of this.deleted) {
      if (at < cutoff) {
        this.deleted.delete(id);
      }
    }
  }

  /** One tick now (coalesced with a running one): refresh gauges, then start due probes on the lease holder. */
  async tick(): Promise<void> {
    await this.job.runOnce();
  }

  private async runTick(tick: JobTick): Promise<void> {
    if (this.stopped) {
      return;
    }
    const all = await this.clusters.listAllHealth();
    this.sweepDeleted();
    this.metrics.replaceAll(
      all
        .filter((c) => !this.deleted.has(c.id))
        .map((c) => {
          const r = c.conditions.find((x) => x.type === 'Reachable');
          return { name: c.name, reachable: r === undefined ? undefined : r.status === 'True' };
        }),
    );
    if (tick.lease !== 'held') {
      return;
    }
    const now = this.clock.now();
    const known = new Set(all.map((c) => c.id));
    for (const id of this.backoff.keys()) {
      if (!known.has(id)) {
        this.backoff.delete(id);
      }
    }
    for (const c of all) {
      const due = (this.backoff.get(c.id)?.nextDue ?? 0) <= now;
      if (due && !this.inFlight.has(c.id)) {
        // Not awaited: each probe runs in its own pool slot.
        void this.probeInPool(c.id);
      }
    }
  }

  private async probeInPool(clusterId: string): Promise<void> {
    this.inFlight.add(clusterId);
    await this.acquire();
    try {
      if (!this.stopped) {
        await this.probe(clusterId);
      }
    } catch (error) {
      this.logger.warn({
        msg: 'cluster probe could not be recorded',
        clusterId,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.inFlight.delete(clusterId);
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.running < this.config.clusterProbeConcurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next();
    } else {
      this.running--;
    }
  }

  private async check(clusterId: string): Promise<ProbeResult> {
    const timeoutSeconds = this.config.clusterProbeTimeoutSeconds;
    const started = process.hrtime.bigint();
    let result: ProbeResult;
    try {
      const api = await this.clients.client(clusterId, VersionApi);
      const info = await api.getCode(
        {},
        {
          middleware: [
            {
              pre: (ctx: RequestContext) => {
                ctx.setSignal(AbortSignal.timeout(timeoutSeconds * 1000));
                return new Observable(Promise.resolve(ctx));
              },
              post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
            },
          ],
          middlewareMergeStrategy: 'append',
        },
      );
      result = { reachable: true, version: info.gitVersion };
    } catch (error) {
      if (error instanceof AppError && error.code === 'ClusterNotFound') {
        throw error;
      }
      result =
        error instanceof AppError
          ? { reachable: false, reason: ProbeReason.CredentialsUnavailable, message: error.message }
          : classifyProbeError(error, timeoutSeconds);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.probeDuration.observe(
      { result: result.reachable ? 'success' : 'failure' },
      seconds,
    );
    return result;
  }

  private async record(clusterId: string, result: ProbeResult): Promise<void> {
    const cluster = await this.clusters.findById(clusterId);
    if (cluster === undefined) {
      return;
    }
    const now = new Date();
    const conditions = conditionsAfterProbe(cluster.conditions, result, now);
    const version = result.reachable ? result.version : cluster.kubernetesVersion;
    const changed =
      !conditionsEqual(conditions, cluster.conditions) || version !== cluster.kubernetesVersion;
    await this.clusters.recordProbe(
      clusterId,
      now,
      changed ? { conditions, kubernetesVersion: version } : undefined,
    );
    if (this.deleted.has(clusterId)) {
      return; // Deleted while the probe ran.
    }
    this.metrics.setReachable(cluster.name, result.reachable);
    if (result.reachable) {
      this.backoff.delete(clusterId);
    } else {
      const failures = (this.backoff.get(clusterId)?.failures ?? 0) + 1;
      const intervals = Math.min(2 ** (failures - 1), MAX_BACKOFF_INTERVALS);
      const jitter = 0.9 + Math.random() * 0.2;
      // The first failure keeps the normal interval, so an outage shows within one interval.
      const delay = (intervals - 1) * this.config.clusterProbeIntervalSeconds * 1000 * jitter;
      this.backoff.set(clusterId, { failures, nextDue: this.clock.now() + delay });
    }
    const wasReachable = cluster.conditions.find((c) => c.type === 'Reachable')?.status;
    if (result.reachable && wasReachable === 'False') {
      // Back after an outage, possibly rebuilt empty: onboarding checks its objects at once.
      this.events.publish(new ClusterChanged(cluster.id, cluster.name, 'reachable'));
    }
    if (changed) {
      const reachable = conditions.find((c) => c.type === 'Reachable');
      this.logger.log({
        msg: 'cluster health changed',
        cluster: cluster.name,
        reachable: reachable?.status,
        reason: reachable?.reason,
      });
    }
  }
}
