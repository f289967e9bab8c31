import { Injectable } from '@nestjs/common';
import { Reason } from 'src/modules/reconciler/conditions';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import { type ReleaseArtifact, SourcesService } from 'src/modules/sources/sources.service';
import { failed, messageOf, passed, type StepOutcome } from './run-end';

/** The release's artifact at the source's current revision. */
@Injectable()
export class ArtifactStep {
  constructor(private readonly sources: SourcesService) {}

  async run({ release, source }: ReconcileContext): Promise<StepOutcome<ReleaseArtifact>> {
    try {
      if (source === undefined) {
        throw new Error(`the release's source no longer exists`);
      }
      return passed(await this.sources.releaseArtifactOf(source, release.helm));
    } catch (error) {
      // A failed read never deletes: nothing is applied or pruned.
      return failed(
        {
          result: 'Failed',
          reason: Reason.ArtifactFailed,
          message: `source artifact unavailable: ${messageOf(error)}`,
          ready: 'False',
          retry: 'backoff',
        },
        messageOf(error),
      );
    }
  }
}
