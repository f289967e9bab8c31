import type { FieldError } from 'test/support/kube-sim/errors';
import { FieldErrors } from 'test/support/kube-sim/errors';
import { fromLabelSelector, selectorString } from 'test/support/kube-sim/label-selector';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { clone, isDict } from 'test/support/kube-sim/types';

// autoscaling/v2 defaults (pkg/apis/autoscaling/v2/defaults.go): minReplicas 1, 80 % CPU when no
// metric is given, and a behavior section completed from the default scale-up/-down rules.
const SCALE_UP: Dict = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};
const SCALE_DOWN: Dict = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

function scalingRules(given: unknown, defaults: Dict): Dict {
  const out = clone(defaults);
  if (isDict(given)) {
    for (const k of ['stabilizationWindowSeconds', 'selectPolicy', 'policies', 'tolerance']) {
      if (given[k] !== undefined) {
        out[k] = given[k];
      }
    }
  }
  return out;
}

export function defaultHpa(spec: Dict): void {
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ];
  }
  if (isDict(spec.behavior)) {
    spec.behavior.scaleUp = scalingRules(spec.behavior.scaleUp, SCALE_UP);
    spec.behavior.scaleDown = scalingRules(spec.behavior.scaleDown, SCALE_DOWN);
  }
}

/** The checks of ValidateHorizontalPodAutoscalerSpec a manifest most often trips. */
export function validateHpa(spec: Dict): FieldError[] {
  const errs: FieldError[] = [];
  const ref = isDict(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
  for (const f of ['kind', 'name']) {
    if (typeof ref[f] !== 'string' || ref[f] === '') {
      errs.push(FieldErrors.required(`spec.scaleTargetRef.${f}`, ''));
    }
  }
  const min = spec.minReplicas;
  const max = spec.maxReplicas;
  if (typeof min === 'number' && min < 1) {
    errs.push(FieldErrors.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  }
  if (typeof max !== 'number' || max < 1) {
    errs.push(
      FieldErrors.invalid('spec.maxReplicas', max ?? 0, 'must be greater than or equal to 1'),
    );
  } else if (typeof min === 'number' && max < min) {
    errs.push(
      FieldErrors.invalid(
        'spec.maxReplicas',
        max,
        'must be greater than or equal to `minReplicas`',
      ),
    );
  }
  return errs;
}

/** Kinds serving `/scale` (an autoscaling/v1 Scale over spec.replicas). */
export const SCALABLE = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet']);

/** The Scale a real apiserver derives from a Deployment, StatefulSet or ReplicaSet. */
export function scaleOf(parent: KubeObject): KubeObject {
  const spec = isDict(parent.spec) ? parent.spec : {};
  const status = isDict(parent.status) ? parent.status : {};
  const sel = isDict(spec.selector) ? fromLabelSelector(spec.selector) : undefined;
  const m = parent.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 0 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: sel ? selectorString(sel) : '',
    },
  };
}
