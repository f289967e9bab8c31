import { Injectable } from '@nestjs/common';
import { Reason } from 'src/modules/reconciler/conditions';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import { PolicyService } from 'src/modules/rendering/policy.service';
import type {
  KubeObject as RenderedObject,
  RenderResult,
} from 'src/modules/rendering/rendering.types';
import type { Grant } from 'src/tenants/grants/grant.types';
import { ownerOf } from './grant';
import { failed, messageOf, passed, type StepOutcome } from './run-end';

/**
 * The rendered objects the grant allows, with namespaces defaulted and ownership
 * labels. An empty result is refused unless the release allows it (or the caller
 * only plans), so a broken render cannot prune everything.
 */
@Injectable()
export class AdmitStep {
  constructor(private readonly policy: PolicyService) {}

  run(
    ctx: ReconcileContext,
    grant: Grant,
    rendered: RenderResult,
    revision: string,
    options: { refuseEmpty: boolean } = { refuseEmpty: true },
  ): StepOutcome<RenderedObject[]> {
    const { release } = ctx;
    let objects: RenderedObject[];
    try {
      objects = this.policy.check(
        rendered.objects,
        {
          namespaces: grant.namespaces,
          clusterScopedKinds: grant.clusterScopedKinds,
          targetNamespace: release.targetNamespace,
        },
        { owner: ownerOf(ctx) },
      ).objects;
    } catch (error) {
      return failed({
        result: 'Failed',
        reason: Reason.PolicyViolation,
        message: messageOf(error),
        ready: 'False',
        stalled: true,
        revision,
        retry: 'interval',
      });
    }
    if (objects.length === 0 && options.refuseEmpty && !release.allowEmpty) {
      return failed({
        result: 'Failed',
        reason: Reason.EmptyRender,
        message:
          'the render produced no objects; nothing was pruned (set allowEmpty to allow this)',
        ready: 'False',
        stalled: true,
        revision,
        retry: 'interval',
      });
    }
    return passed(objects);
  }
}
