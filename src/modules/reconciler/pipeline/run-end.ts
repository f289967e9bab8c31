import type { Reason } from 'src/modules/reconciler/conditions';
import type { DriftReport } from 'src/modules/reconciler/kube/kube.types';
import type {
  ConflictEntry,
  InventoryEntry,
  TargetCounts,
  TargetResult,
} from 'src/modules/releases/releases.types';

/** Why a run ended, and when the target is due again. */
export interface RunEnd {
  result: TargetResult;
  reason: Reason;
  message: string;
  ready: 'True' | 'False' | 'Unknown';
  stalled?: boolean;
  revision: string | null;
  /** Inventory to store; undefined keeps the previous one (nothing changed in the cluster). */
  inventory?: InventoryEntry[];
  appliedRevision?: string | null;
  appliedDigest?: string | null;
  counts?: TargetCounts;
  drift?: DriftReport[];
  /** Objects rendered but owned by another release; undefined keeps what is stored. */
  conflicts?: ConflictEntry[];
  retry: 'interval' | 'backoff';
}

/** A step's failure: the run's end, the revision filled in by the pipeline when absent. */
export type StepFailure = Omit<RunEnd, 'revision'> & { revision?: string | null };

/**
 * What a step answers: its value, or the end of the run and the plain cause
 * (a dry-run plan reports the cause, a reconcile records the end).
 */
export type StepOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly end: StepFailure; readonly cause: string };

export function passed<T>(value: T): StepOutcome<T> {
  return { ok: true, value };
}

export function failed<T>(end: StepFailure, cause: string = end.message): StepOutcome<T> {
  return { ok: false, end, cause };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
