import YAML from 'yaml';
import { scaleOf } from 'test/support/kube-sim/autoscaling';
import type { ClusterEngine, PatchType, WriteContext } from 'test/support/kube-sim/engine';
import { Errors, FieldErrors } from 'test/support/kube-sim/errors';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
} from 'test/support/kube-sim/patch';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { apiVersionOf } from 'test/support/kube-sim/schema';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { clone, ensureDict, getPath, isDict } from 'test/support/kube-sim/types';

export interface ScaleRequest {
  verb: string;
  ns: string | undefined;
  name: string;
  patchType?: PatchType;
  /** Request body (Scale JSON for PUT, the patch for PATCH). */
  body?: string;
  force?: boolean;
}

function parse(raw: string, yaml: boolean): unknown {
  try {
    return yaml ? (YAML.parse(raw) as unknown) : (JSON.parse(raw) as unknown);
  } catch (e) {
    throw Errors.badRequest(
      `the object provided is unrecognized or malformed: ${(e as Error).message}`,
    );
  }
}

function replicasOf(scale: Dict, name: string): number {
  const r = getPath(scale, 'spec', 'replicas') ?? 0;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) {
    throw Errors.invalid('Scale', 'autoscaling', name, [
      FieldErrors.invalid('spec.replicas', r, 'must be greater than or equal to 0'),
    ]);
  }
  return r;
}

/**
 * The `/scale` subresource of Deployments, StatefulSets and ReplicaSets (registry/apps/*
 * ScaleREST): an autoscaling/v1 Scale read from and written to the parent's spec.replicas; writes
 * are recorded in the parent's managedFields with subresource "scale".
 */
export function serveScale(
  e: ClusterEngine,
  rt: ResourceType,
  ctx: WriteContext,
  r: ScaleRequest,
): KubeObject {
  const current = e.get(rt, r.ns, r.name);
  if (r.verb === 'get') {
    return scaleOf(current);
  }
  if (r.verb === 'patch' && r.patchType === 'apply') {
    const cfg = parse(r.body ?? '', true);
    if (!isDict(cfg) || cfg.apiVersion !== 'autoscaling/v1' || cfg.kind !== 'Scale') {
      throw Errors.badRequest(
        `invalid object type: autoscaling/v1, Kind=${isDict(cfg) && typeof cfg.kind === 'string' ? cfg.kind : ''}`,
      );
    }
    const replicas = replicasOf(cfg, r.name);
    const parent = {
      apiVersion: apiVersionOf(rt),
      kind: rt.kind,
      metadata: { name: r.name, ...(r.ns ? { namespace: r.ns } : {}) },
      spec: { replicas },
    };
    const out = e.apply(rt, ctx, r.ns, r.name, JSON.stringify(parent), 'scale', r.force ?? false);
    return scaleOf(out.obj);
  }
  let scale: unknown;
  if (r.verb === 'update') {
    scale = parse(r.body ?? '', false);
  } else {
    const patch = parse(r.body ?? '', false);
    const base = scaleOf(current);
    if (r.patchType === 'json') {
      scale = applyJsonPatch(base, patch);
    } else if (!isDict(patch)) {
      throw Errors.badRequest(
        'json: cannot unmarshal array into Go value of type map[string]interface {}',
      );
    } else {
      scale =
        r.patchType === 'merge'
          ? applyMergePatch(base, patch)
          : applyStrategicMergePatch(base, patch);
    }
  }
  if (!isDict(scale)) {
    throw Errors.badRequest('the object provided is unrecognized or malformed');
  }
  const meta = isDict(scale.metadata) ? scale.metadata : {};
  if (meta.name !== undefined && meta.name !== r.name) {
    throw Errors.badRequest(
      `the name of the object (${typeof meta.name === 'string' ? meta.name : JSON.stringify(meta.name)}) does not match the name on the URL (${r.name})`,
    );
  }
  const rv = meta.resourceVersion;
  if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) {
    throw Errors.conflict(rt, r.name);
  }
  const next = clone(current);
  ensureDict(next, 'spec').replicas = replicasOf(scale, r.name);
  return scaleOf(e.update(rt, ctx, r.ns, r.name, next, 'scale'));
}
