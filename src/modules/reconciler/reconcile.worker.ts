import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { CLOCK, type Clock } from 'src/common/coordination/clock';
import { runDetached } from 'src/common/logging/request-context';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';
import { TargetReconciler } from './target.reconciler';
import { ReconcileContextLoader, type ReconcileContext } from './reconcile-context.loader';
import { type ClaimedTarget, TargetQueueRepository } from './target-queue.repository';

/**
 * A freed slot is refilled after this delay rather than at once, so the slots freed
 * meanwhile are claimed and loaded together: one claim and one context load per few
 * targets instead of per target.
 */
const REFILL_DELAY_MS = 20;

/**
 * Claims due targets from the PostgreSQL queue and runs them with bounded
 * concurrency, globally and per cluster, so one slow cluster cannot take all
 * slots. A claim asks only for the free slots, and per cluster only for what
 * is left of its limit, so everything claimed starts at once within the
 * bounds and what is not claimed stays for other replicas.
 */
@Injectable()
export class ReconcileWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcileWorker.name);
  private readonly running = new Map<string, Promise<void>>();
  private readonly perCluster = new Map<string, number>();
  private cancelTimer: (() => void) | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private polling = false;
  private wakeRequested = false;

  constructor(
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly queue: TargetQueueRepository,
    private readonly reconciler: TargetReconciler,
    private readonly contexts: ReconcileContextLoader,
    private readonly metrics: ReconcilerMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.workerEnabled) {
      return;
    }
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    // In-flight reconciles finish (bounded by the shutdown timeout); unclaimed work stays queued.
    await Promise.allSettled([...this.running.values()]);
  }

  /** Look for work now (a trigger just made targets due). */
  wake(): void {
    if (this.polling) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  get inFlight(): number {
    return this.running.size;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.cancelTimer?.();
    this.timerDueAt = this.clock.now() + delayMs;
    // Work claimed here belongs to no HTTP request, whatever woke the worker.
    this.cancelTimer = runDetached(() =>
      this.clock.schedule(() => {
        this.timerDueAt = Number.POSITIVE_INFINITY;
        void this.poll();
      }, delayMs),
    );
  }

  /** A slot freed up: look for more work shortly, together with the slots freed meanwhile. */
  private refillSoon(): void {
    if (this.polling) {
      this.wakeRequested = true;
      return;
    }
    if (this.timerDueAt > this.clock.now() + REFILL_DELAY_MS) {
      this.schedule(REFILL_DELAY_MS);
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) {
      return;
    }
    this.polling = true;
    let claimed = 0;
    try {
      const free = this.options.concurrency - this.running.size;
      if (free > 0) {
        const claims = await this.queue.claimDue(
          this.options.replicaId,
          free,
          this.options.leaseMs,
          this.perCluster,
          this.options.perClusterConcurrency,
        );
        claimed = claims.length;
        const contexts = await this.loadContexts(claims);
        for (const claim of claims) {
          this.start(claim, contexts);
        }
      }
    } catch (error) {
      // Database down: keep polling; nothing is lost, leases simply expire.
      this.logger.warn({
        msg: 'claiming due targets failed',
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.polling = false;
    }
    const busy = this.running.size >= this.options.concurrency;
    const again = this.wakeRequested || (claimed > 0 && !busy);
    this.wakeRequested = false;
    this.schedule(again ? 0 : this.options.pollIntervalMs);
  }

  /** The batch's contexts; undefined when loading failed (each run then loads its own). */
  private async loadContexts(
    claims: readonly ClaimedTarget[],
  ): Promise<ReadonlyMap<string, ReconcileContext> | undefined> {
    if (claims.length === 0) {
      return undefined;
    }
    try {
      return await this.contexts.load(claims);
    } catch (error) {
      this.logger.warn({
        msg: 'loading the claimed batch failed; each target loads its own',
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  private start(claim: ClaimedTarget, contexts?: ReadonlyMap<string, ReconcileContext>): void {
    this.perCluster.set(claim.clusterId, (this.perCluster.get(claim.clusterId) ?? 0) + 1);
    this.metrics.inFlight.set(this.running.size + 1);
    const run = this.reconciler
      .reconcile(claim, contexts)
      .catch((error: unknown) => {
        this.logger.error(error instanceof Error ? error : String(error));
        // Make it due again soon (retried while the database is away); the lease
        // expires by itself if even this fails.
        return this.queue
          .releaseLease(claim, this.options.replicaId, new Date(this.clock.now() + 5_000))
          .catch(() => undefined);
      })
      .finally(() => {
        this.running.delete(claim.id);
        const left = (this.perCluster.get(claim.clusterId) ?? 1) - 1;
        if (left <= 0) {
          this.perCluster.delete(claim.clusterId);
        } else {
          this.perCluster.set(claim.clusterId, left);
        }
        this.metrics.inFlight.set(this.running.size);
        this.refillSoon();
      });
    this.running.set(claim.id, run);
  }
}
