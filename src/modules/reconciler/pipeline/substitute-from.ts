import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import { ClusterApiPool } from 'src/modules/reconciler/cluster-api.pool';
import { Reason } from 'src/modules/reconciler/conditions';
import { serviceAccountUser } from 'src/modules/reconciler/kube/applier.service';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { ReleasePostBuild } from 'src/modules/releases/releases.types';
import { VARIABLE_NAME } from 'src/modules/rendering/variables';
import { serviceAccountOf } from './grant';
import { failed, messageOf, passed, type StepOutcome } from './run-end';

/** The postBuild variables of one Target, resolved. */
export interface ResolvedPostBuild {
  /** substituteFrom in order, then inline `substitute` on top (Flux's precedence). */
  readonly variables: Readonly<Record<string, string>>;
  /** Values read from Secrets: never shown, redacted where an error could quote them. */
  readonly secretValues: readonly string[];
}

/**
 * Reads a release's `postBuild.substituteFrom` objects from the workload cluster,
 * in the release's target namespace, as the grant's service account (ADR 0013),
 * and merges them as Flux's kustomize-controller does: later objects override
 * earlier ones, inline `substitute` wins, newlines are removed from every value,
 * a missing object fails the run unless `optional`.
 */
@Injectable()
export class SubstituteFromReader {
  constructor(private readonly pool: ClusterApiPool) {}

  async resolve(
    ctx: ReconcileContext,
    postBuild: ReleasePostBuild,
  ): Promise<StepOutcome<ResolvedPostBuild>> {
    const variables: Record<string, string> = {};
    const secretValues: string[] = [];
    const refs = postBuild.substituteFrom ?? [];
    const { release, cluster, grant } = ctx;
    const namespace = release.targetNamespace;
    if (refs.length > 0 && grant !== undefined) {
      let api: KubeApiClient;
      try {
        api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
      } catch (error) {
        return failed(this.readFailure(error, `substituteFrom objects in namespace ${namespace}`));
      }
      const impersonate = serviceAccountUser(serviceAccountOf(grant, release));
      for (const ref of refs) {
        const what = `${ref.kind}/${ref.name} in namespace ${namespace}`;
        let object: Record<string, unknown> | undefined;
        try {
          object = await api.get(
            { group: '', version: 'v1', kind: ref.kind, namespace, name: ref.name },
            { impersonate },
          );
        } catch (error) {
          return failed(this.readFailure(error, what, ref.kind));
        }
        if (object === undefined) {
          if (ref.optional === true) {
            continue;
          }
          return failed({
            result: 'Failed',
            reason: Reason.SubstituteFromNotFound,
            message: `postBuild.substituteFrom: ${what} not found on cluster ${cluster.name}; create it or mark it optional`,
            ready: 'False',
            retry: 'backoff',
          });
        }
        const data = isStringMap(object.data) ? object.data : {};
        for (const [key, raw] of Object.entries(data)) {
          if (!VARIABLE_NAME.test(key)) {
            // Flux refuses the build on such a key; its name is not a secret, its value is.
            return failed({
              result: 'Failed',
              reason: Reason.SubstituteFromFailed,
              message: `postBuild.substituteFrom: ${what} has key "${key.slice(0, 100)}", not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)`,
              ready: 'False',
              retry: 'interval',
            });
          }
          const value = (
            ref.kind === 'Secret' ? Buffer.from(raw, 'base64').toString('utf8') : raw
          ).replaceAll('\n', '');
          if (ref.kind === 'Secret') {
            secretValues.push(value);
          }
          variables[key] = value;
        }
      }
    }
    for (const [key, value] of Object.entries(postBuild.substitute ?? {})) {
      variables[key] = value.replaceAll('\n', '');
    }
    return passed({ variables, secretValues });
  }

  private readFailure(
    error: unknown,
    what: string,
    kind?: 'ConfigMap' | 'Secret',
  ): Parameters<typeof failed>[0] {
    if (error instanceof KubeError && error.code === 'Forbidden') {
      return {
        result: 'Failed',
        reason: Reason.SubstituteFromFailed,
        message: `postBuild.substituteFrom: reading ${what} is forbidden for the grant's service account; grant it get on ${kind === 'Secret' ? 'secrets' : 'configmaps'} there`,
        ready: 'False',
        retry: 'backoff',
      };
    }
    return {
      result: 'Failed',
      reason: error instanceof KubeError ? Reason.ClusterUnreachable : Reason.SubstituteFromFailed,
      message: `postBuild.substituteFrom: reading ${what} failed: ${messageOf(error)}`,
      ready: 'False',
      retry: 'backoff',
    };
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/** `sha256:<hex>` of the variables, for the render cache key: values by digest only. */
export function variablesDigest(variables: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(variables)
    .sort()
    .map((k) => [k, variables[k]]);
  return `sha256:${createHash('sha256').update(JSON.stringify(sorted)).digest('hex')}`;
}
