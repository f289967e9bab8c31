import { Inject, Injectable, Logger } from '@nestjs/common';
import { setConditions, truncateMessage } from 'src/common/conditions/conditions';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import type { Release } from 'src/modules/releases/releases.types';
import type { TargetCondition, Target } from 'src/modules/releases/releases.types';
import { ReleasesService } from 'src/modules/releases/releases.service';
import {
  type ClaimedTarget,
  type TargetOutcome,
  TargetQueueRepository,
} from './target-queue.repository';
import { refString } from './kube/kube-objects';
import type { RunEnd } from './pipeline/run-end';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';
import type { TargetLabels } from './reconciler.metrics';
import { eventsFor } from './target-events';
import { TargetBecameReady } from './reconciler.events';

/**
 * Writes what a run ended with, under the target's lease: status, conditions,
 * inventory, history and events in one statement, and when it is due again
 * (interval with jitter, or backoff).
 */
@Injectable()
export class TargetStatusRecorder {
  private readonly logger = new Logger(TargetStatusRecorder.name);

  constructor(
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly targets: TargetQueueRepository,
    private readonly releases: ReleasesService,
    private readonly events: DomainEventBus,
  ) {}

  /** False when the write was rejected: the lease was lost to another replica. */
  async record(
    claim: ClaimedTarget,
    {
      target,
      release,
      hasDependents,
    }: { target: Target; release: Release; hasDependents: boolean },
    started: Date,
    durationMs: number,
    end: RunEnd,
    labels: TargetLabels,
  ): Promise<boolean> {
    const now = new Date();
    const written = await this.targets.complete(
      claim,
      this.options.replicaId,
      this.outcomeOf(target, release, end, durationMs, now),
      {
        startedAt: started,
        durationMs,
        revision: end.revision,
        result: end.result,
        reason: end.reason,
        message: truncateMessage(end.message),
        counts: end.counts ?? null,
        drift: (end.drift ?? []).map((d) => ({ object: refString(d.ref), fields: d.fields })),
      },
      undefined,
      eventsFor(claim, target, end, labels, now),
    );
    if (!written) {
      this.logger.warn({
        msg: 'result discarded: the lease was lost to another replica',
        targetId: claim.id,
      });
    } else if (
      hasDependents &&
      end.ready === 'True' &&
      !(target.readyStatus === 'True' && target.observedGeneration === release.generation)
    ) {
      // Written (committed) first, so a woken dependent reads this target Ready.
      this.events.publish(new TargetBecameReady(claim.tenantId, claim.clusterId, release.name));
    }
    return written;
  }

  /** Nothing to write but when to look again (and that no run is in progress). */
  async skip(claim: ClaimedTarget, release: Release): Promise<void> {
    await this.targets.releaseLease(
      claim,
      this.options.replicaId,
      this.dueIn(release.intervalSeconds),
    );
  }

  /**
   * Nothing could be loaded for the claim (its release, cluster or tenant went away
   * under it): hand the lease back, so the row, if still there, stops showing
   * Reconciling and the periodic resync settles it.
   */
  async abandon(claim: ClaimedTarget): Promise<void> {
    await this.targets.releaseLease(claim, this.options.replicaId, this.dueIn(60));
  }

  /** Pruning before removal failed: keep the row and retry with backoff. */
  async removalFailed(
    claim: ClaimedTarget,
    { target, release }: { target: Target; release: Release },
    message: string,
  ): Promise<void> {
    await this.targets.complete(
      claim,
      this.options.replicaId,
      {
        nextRunAt: this.backoff(target.failureCount + 1, release.retryIntervalSeconds),
        failureCount: target.failureCount + 1,
        lastError: truncateMessage(message),
        lastResult: 'Failed',
      },
      undefined,
    );
  }

  /** Drops the removed target's row, and the release's once it has no targets left. */
  async removed(claim: ClaimedTarget, release: Release): Promise<boolean> {
    if (!(await this.targets.deleteClaimed(claim, this.options.replicaId))) {
      return false;
    }
    await this.releases.deleteIfNoTargets(release.id);
    return true;
  }

  private outcomeOf(
    target: Target,
    release: Release,
    end: RunEnd,
    durationMs: number,
    now: Date,
  ): TargetOutcome {
    // A run skipped until its interval (cluster held, reconciliation suspended) is no
    // failure: it keeps the failure count and the last error. A run skipped with
    // backoff (a dependency not Ready) counts and says why, as before the split.
    const skipped = end.result === 'Skipped' && end.retry === 'interval';
    const failures =
      end.result === 'Succeeded' ? 0 : skipped ? target.failureCount : target.failureCount + 1;
    return {
      nextRunAt: this.nextRunOf(end, failures, release),
      conditions: setConditions(target.conditions, conditionsOf(end), now),
      readyStatus: end.ready,
      lastResult: end.result,
      lastDurationMs: durationMs,
      lastError:
        end.result === 'Succeeded'
          ? null
          : skipped
            ? target.lastError
            : truncateMessage(end.message),
      lastAttemptedRevision: end.revision,
      failureCount: failures,
      lastReconciledAt: now,
      observedGeneration: release.generation,
      ...(end.counts === undefined ? {} : { counts: end.counts }),
      ...(end.inventory === undefined ? {} : { inventory: end.inventory }),
      ...conflictsOf(target, end),
      ...(end.appliedRevision === undefined ? {} : { appliedRevision: end.appliedRevision }),
      ...(end.appliedDigest === undefined ? {} : { appliedDigest: end.appliedDigest }),
    };
  }

  private nextRunOf(end: RunEnd, failures: number, release: Release): Date {
    if (end.retry === 'interval') {
      return this.dueIn(
        end.result === 'Failed' ? release.retryIntervalSeconds : release.intervalSeconds,
      );
    }
    return this.backoff(failures, release.retryIntervalSeconds);
  }

  private dueIn(seconds: number): Date {
    // ±10% jitter spreads targets created together over the interval.
    const jitter = 0.9 + Math.random() * 0.2;
    return new Date(Date.now() + seconds * 1000 * jitter);
  }

  private backoff(failures: number, retryIntervalSeconds: number): Date {
    const base = Math.min(retryIntervalSeconds * 1000, 5_000);
    const exp = Math.min(
      base * 2 ** Math.max(0, failures - 1),
      this.options.maxBackoffMs,
      retryIntervalSeconds * 1000 * 8,
    );
    return new Date(Date.now() + exp * (0.5 + Math.random() * 0.5));
  }
}

/** Conflicts found, or cleared once a run wrote an inventory (it got past the ownership check). */
function conflictsOf(target: Target, end: RunEnd): Pick<TargetOutcome, 'conflicts'> {
  if (end.conflicts !== undefined) {
    return { conflicts: end.conflicts };
  }
  return end.inventory !== undefined && target.conflicts.length > 0 ? { conflicts: [] } : {};
}

/** Ready always; Stalled when retrying cannot help until something changes. A finished run drops Reconciling. */
function conditionsOf(end: RunEnd): Omit<TargetCondition, 'lastTransitionTime'>[] {
  const conditions: Omit<TargetCondition, 'lastTransitionTime'>[] = [
    { type: 'Ready', status: end.ready, reason: end.reason, message: end.message },
  ];
  if (end.stalled === true) {
    conditions.push({ type: 'Stalled', status: 'True', reason: end.reason, message: end.message });
  }
  return conditions;
}
