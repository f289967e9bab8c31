import { Injectable } from '@nestjs/common';
import { SecretRedactor } from 'src/common/redaction/secret-redactor';
import { Reason } from 'src/modules/reconciler/conditions';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import { RenderCache } from 'src/modules/reconciler/render-cache';
import { RenderingError, RenderingErrorCode } from 'src/modules/rendering/rendering.errors';
import { canonicalJson, RenderingService } from 'src/modules/rendering/rendering.service';
import type { RenderResult } from 'src/modules/rendering/rendering.types';
import { buildVariables } from 'src/modules/rendering/variables';
import { type ReleaseArtifact, SourcesService } from 'src/modules/sources/sources.service';
import { failed, messageOf, passed, type StepOutcome } from './run-end';
import { type ResolvedPostBuild, SubstituteFromReader, variablesDigest } from './substitute-from';

/** Renders the artifact for one cluster, shared through the render cache. */
@Injectable()
export class RenderStep {
  constructor(
    private readonly rendering: RenderingService,
    private readonly renderCache: RenderCache,
    private readonly substituteFrom: SubstituteFromReader,
    private readonly sources: SourcesService,
  ) {}

  async run(ctx: ReconcileContext, artifact: ReleaseArtifact): Promise<StepOutcome<RenderResult>> {
    let postBuild: ResolvedPostBuild | undefined;
    if (ctx.release.postBuild !== null) {
      const resolved = await this.substituteFrom.resolve(ctx, ctx.release.postBuild);
      if (!resolved.ok) {
        return failed({ ...resolved.end, revision: artifact.revision }, resolved.cause);
      }
      postBuild = resolved.value;
    }
    try {
      return passed(await this.render(ctx, artifact, postBuild));
    } catch (error) {
      if (
        error instanceof RenderingError &&
        error.code === RenderingErrorCode.DependencyFetchFailed
      ) {
        // The repository may answer later: retry with backoff, as for a source fetch.
        return failed({
          result: 'Failed',
          reason: Reason.ChartDependencyFetchFailed,
          message: messageOf(error),
          ready: 'False',
          revision: artifact.revision,
          retry: 'backoff',
        });
      }
      return failed({
        result: 'Failed',
        // Said as such, not as a build error: no new revision of the same files will render.
        reason:
          error instanceof RenderingError && error.code === RenderingErrorCode.UnsupportedFormat
            ? Reason.UnsupportedFormat
            : Reason.BuildFailed,
        message: redactedMessage(error, postBuild),
        ready: 'False',
        stalled: true,
        revision: artifact.revision,
        retry: 'interval',
      });
    }
  }

  private async render(
    { release, cluster, tenantName }: ReconcileContext,
    { dir: artifactDir, chartPath, fromHelmRepository, revision }: ReleaseArtifact,
    postBuild: ResolvedPostBuild | undefined,
  ): Promise<RenderResult> {
    const facts = {
      clusterName: cluster.name,
      clusterLabels: cluster.labels,
      kubernetesVersion: cluster.kubernetesVersion ?? '1.34.0',
      apiVersions: [],
      targetNamespace: release.targetNamespace,
      tenant: tenantName,
    };
    // Helm sees every fact (capabilities); plain and kustomize depend on the cluster
    // only through the variables the artifact references (none without a postBuild),
    // so clusters agreeing on those share one render. substituteFrom values (which
    // change without a new generation or revision) enter the key by digest only.
    const helm =
      release.kind === 'helm' ||
      release.helm !== null ||
      (release.kind === null &&
        (await this.renderCache.chartDetected(artifactDir, release.path, () =>
          this.rendering.detectsChart(artifactDir, release.path),
        )));
    const used = helm ? undefined : await this.renderCache.referencedVariables(artifactDir);
    const vars = postBuild === undefined ? undefined : buildVariables(facts, postBuild.variables);
    const key = RenderCache.key({
      release: release.id,
      generation: release.generation,
      revision,
      facts: used === undefined ? facts : null,
      // Stated, not left to the generation: a changed overlay must never reuse a render.
      kustomize: release.kustomize === null ? null : canonicalJson(release.kustomize),
      variables:
        vars === undefined
          ? null
          : variablesDigest(
              Object.fromEntries(
                used === undefined ? vars : [...vars].filter(([name]) => used.has(name)),
              ),
            ),
    });
    return this.renderCache.get(key, () =>
      this.rendering.render({
        artifactRoot: artifactDir,
        release: {
          path: release.path,
          kind: release.kind ?? undefined,
          postBuild: postBuild === undefined ? undefined : { variables: postBuild.variables },
          kustomize: release.kustomize ?? undefined,
          releaseName: release.name,
          helm:
            release.helm === null
              ? undefined
              : {
                  // A helm source's chart is an archive in the artifact; else a path in the source.
                  chartPath: chartPath ?? release.helm.chart,
                  fromHelmRepository: fromHelmRepository === true,
                  valuesFiles: release.helm.valuesFiles,
                  values: release.helm.values,
                  releaseName: release.helm.releaseName ?? release.name,
                  ...(release.helm.test?.enable === true ? { includeTests: true } : {}),
                },
        },
        target: facts,
        fetchChartDependency: (dependency) =>
          this.sources.fetchChartDependency(release.tenantId, dependency),
      }),
    );
  }
}

/** Render errors name variables, never values; values read from Secrets are scrubbed anyway. */
function redactedMessage(error: unknown, postBuild: ResolvedPostBuild | undefined): string {
  const message = messageOf(error);
  if (postBuild === undefined || postBuild.secretValues.length === 0) {
    return message;
  }
  const redactor = new SecretRedactor();
  for (const value of postBuild.secretValues) {
    redactor.addValue(value);
  }
  return redactor.redact(message);
}
