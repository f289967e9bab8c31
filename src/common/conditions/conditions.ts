/**
 * Status conditions with Flux's semantics (fluxcd/pkg runtime/conditions): a
 * condition is replaced by type, its `lastTransitionTime` is kept unless its
 * status changes, and messages are bounded so one noisy error cannot bloat a row.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition<T extends string = string> {
  type: T;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** A condition as a caller states it: the setter decides its transition time. */
export type ConditionUpdate<T extends string = string> = Omit<Condition<T>, 'lastTransitionTime'>;

/** The longest message stored in a condition, an error or a history row. */
export const MAX_CONDITION_MESSAGE = 2_000;

export function truncateMessage(message: string, max = MAX_CONDITION_MESSAGE): string {
  if (message.length <= max) {
    return message;
  }
  // Cut at the last space within the limit, so no word is split; a single huge token is cut.
  const space = message.lastIndexOf(' ', max);
  const end = space > max / 2 ? space : max;
  return `${message.slice(0, end).trimEnd()}…`;
}

/** When a condition entered its status: kept unless the status changes. */
export function transitionTime(
  before: { status: string; lastTransitionTime: string } | null | undefined,
  status: string,
  now: Date | string,
): string {
  if (before !== null && before !== undefined && before.status === status) {
    return before.lastTransitionTime;
  }
  return typeof now === 'string' ? now : now.toISOString();
}

/** The condition as it should be stored, given the one it replaces (if any). */
export function transition<T extends string>(
  before: Condition<T> | undefined,
  next: ConditionUpdate<T>,
  now: Date | string,
): Condition<T> {
  return {
    ...next,
    message: truncateMessage(next.message),
    lastTransitionTime: transitionTime(before, next.status, now),
  };
}

/**
 * The whole set after a run: exactly the conditions in `next`, in their order;
 * types not mentioned are dropped (a finished run drops `Reconciling`).
 */
export function setConditions<T extends string>(
  previous: readonly Condition<T>[],
  next: readonly ConditionUpdate<T>[],
  now: Date | string,
): Condition<T>[] {
  const byType = new Map(previous.map((c) => [c.type, c]));
  return next.map((c) => transition(byType.get(c.type), c, now));
}

/** Sets one condition, keeping the others and their order; a new type is appended. */
export function setCondition<T extends string>(
  previous: readonly Condition<T>[],
  next: ConditionUpdate<T>,
  now: Date | string,
): Condition<T>[] {
  const index = previous.findIndex((c) => c.type === next.type);
  if (index === -1) {
    return [...previous, transition(undefined, next, now)];
  }
  return previous.map((c, i) => (i === index ? transition(c, next, now) : c));
}

export function removeCondition<T extends string>(
  previous: readonly Condition<T>[],
  type: T,
): Condition<T>[] {
  return previous.filter((c) => c.type !== type);
}

export function findCondition<T extends string>(
  conditions: readonly Condition<T>[],
  type: T,
): Condition<T> | undefined {
  return conditions.find((c) => c.type === type);
}

/** The Ready condition's status; Unknown when there is none yet. */
export function readyOf(conditions: readonly Condition[]): ConditionStatus {
  return conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}
