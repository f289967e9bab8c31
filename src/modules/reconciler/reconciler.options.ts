/** Tuning of the reconcile engine; from configuration in production, small values in tests. */
export interface ReconcilerOptions {
  /** Stable id of this replica; lease owner in the queue. */
  readonly replicaId: string;
  /** Targets reconciled at once by this replica. */
  readonly concurrency: number;
  /** Targets of one cluster reconciled at once by this replica. */
  readonly perClusterConcurrency: number;
  readonly leaseMs: number;
  /** How often the worker looks for due targets when idle. */
  readonly pollIntervalMs: number;
  /** How often every release's targets are re-selected (labels, grants may have changed). */
  readonly resyncIntervalMs: number;
  /** Upper bound of the failure backoff. */
  readonly maxBackoffMs: number;
  /** Off: this replica claims no targets (`RECONCILE_ENABLED`, `RECONCILE_WORKER_ENABLED`). */
  readonly workerEnabled: boolean;
  /** Off: this replica takes no part in the periodic resync (`RECONCILE_RESYNC_ENABLED`). */
  readonly resyncEnabled: boolean;
}

export const RECONCILER_OPTIONS = Symbol('RECONCILER_OPTIONS');
