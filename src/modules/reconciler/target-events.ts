import { truncateMessage } from 'src/common/conditions/conditions';
import type { NewEvent } from 'src/modules/events/events.types';
import type { Target } from 'src/modules/releases/releases.types';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import { refString } from './kube/kube-objects';
import type { RunEnd } from './pipeline/run-end';
import type { TargetLabels } from './reconciler.metrics';

/**
 * Events only for what changed: a new Ready reason, a newly applied revision,
 * corrected drift. A quiet steady state writes none.
 */
export function eventsFor(
  claim: ClaimedTarget,
  target: Target,
  end: RunEnd,
  labels: TargetLabels,
  now: Date,
): NewEvent[] {
  const base = {
    tenantId: claim.tenantId,
    objectKind: 'Target',
    objectName: `${labels.release}/${labels.cluster}`,
    revision: end.revision,
    occurredAt: now,
  };
  const events: NewEvent[] = [];
  const previous = target.conditions.find((c) => c.type === 'Ready');
  const newRevision =
    end.appliedRevision !== undefined && end.appliedRevision !== target.appliedRevision;
  if (previous?.reason !== end.reason || newRevision) {
    events.push({
      ...base,
      severity: end.result === 'Failed' ? 'error' : 'info',
      reason: end.reason,
      message: truncateMessage(end.message),
      metadata: end.counts === undefined ? {} : { counts: end.counts },
    });
  }
  const drift = end.drift ?? [];
  if (drift.length > 0) {
    const objects = drift.map((d) => ({
      object: refString(d.ref),
      type: d.type,
      fields: d.fields,
    }));
    events.push({
      ...base,
      severity: 'info',
      reason: 'DriftCorrected',
      message: `corrected ${objects.length} object(s) changed outside gitfleet: ${objects
        .slice(0, 5)
        .map((o) => o.object)
        .join(', ')}`,
      metadata: { objects },
    });
  }
  return events;
}
