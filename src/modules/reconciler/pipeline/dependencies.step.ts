import { Injectable } from '@nestjs/common';
import { Reason } from 'src/modules/reconciler/conditions';
import type { Release } from 'src/modules/releases/releases.types';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetsService } from 'src/modules/releases/targets.service';
import { failed, passed, type StepOutcome } from './run-end';

/** dependsOn: every named release must be Ready, at its generation, on this cluster. */
@Injectable()
export class DependenciesStep {
  constructor(
    private readonly releases: ReleasesService,
    private readonly targets: TargetsService,
  ) {}

  async run(claim: ClaimedTarget, release: Release): Promise<StepOutcome<void>> {
    if (release.dependsOn.length === 0) {
      return passed(undefined);
    }
    const waiting: string[] = [];
    for (const name of release.dependsOn) {
      if (!(await this.isReady(claim, name))) {
        waiting.push(name);
      }
    }
    if (waiting.length > 0) {
      return failed({
        result: 'Skipped',
        reason: Reason.DependencyNotReady,
        message: `waiting for ${waiting.map((n) => `"${n}"`).join(', ')} to be Ready on this cluster`,
        ready: 'False',
        retry: 'backoff',
      });
    }
    return passed(undefined);
  }

  private async isReady(claim: ClaimedTarget, name: string): Promise<boolean> {
    const dependency = await this.releases.findByName(claim.tenantId, name);
    if (dependency === null) {
      return false;
    }
    const target = await this.targets.findForCluster(
      claim.tenantId,
      dependency.id,
      claim.clusterId,
    );
    return (
      target !== null &&
      target.readyStatus === 'True' &&
      target.observedGeneration === dependency.generation
    );
  }
}
