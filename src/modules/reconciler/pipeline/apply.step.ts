import { Injectable } from '@nestjs/common';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { ClusterLiveSnapshot } from 'src/modules/reconciler/cluster-live-snapshot';
import { TenantAccessRefused } from 'src/modules/reconciler/reconciler.events';
import { Reason } from 'src/modules/reconciler/conditions';
import {
  Applier,
  secretRedactorFor,
  serviceAccountUser,
  type ApplyOptions,
  type ServiceAccountRef,
} from 'src/modules/reconciler/kube/applier.service';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { isKubeError, KubeError, redactValues } from 'src/common/kube/kube.errors';
import {
  HealthChecker,
  healthFailureMessage,
} from 'src/modules/reconciler/kube/health-checker.service';
import { backoffDelay, KubeClock } from 'src/modules/reconciler/kube/kube-clock';
import type { ApplyResult, DriftReport, ObjectRef } from 'src/modules/reconciler/kube/kube.types';
import {
  comparable,
  desiredHash,
  diffPaths,
  FIELD_MANAGER,
  refKey,
  refOf,
  refString,
} from 'src/modules/reconciler/kube/kube-objects';
import type { ReconcileContext } from 'src/modules/reconciler/reconcile-context.loader';
import type { ClaimedTarget } from 'src/modules/reconciler/target-queue.repository';
import type { KubeObject as RenderedObject } from 'src/modules/rendering/rendering.types';
import type { InventoryEntry, TargetCounts } from 'src/modules/releases/releases.types';
import type { Grant } from 'src/tenants/grants/grant.types';
import {
  creationKey,
  generateNameOf,
  hookState,
  isGenerated,
  planDeleteHooks,
  planPhases,
  type Creation,
  type PhasePlan,
  type PhaseStep,
} from './apply-phases';
import { type ActingAs, objectFailure } from './failure-messages';
import { ownerOf, serviceAccountOf } from './grant';
import {
  conflictMessage,
  OwnershipCheck,
  OwnershipRefused,
  type OwnershipConflict,
} from './ownership.check';
import { splitHelmCrds } from './helm-crds.policy';
import { LeaseKeeper } from './lease-keeper';
import { failed, messageOf, passed, type StepFailure, type StepOutcome } from './run-end';

const ACCESS_CODES = new Set(['Forbidden', 'NotFound']);

/** What a successful apply left in the cluster. */
export interface Applied {
  objects: ApplyResult['objects'];
  /** The new inventory; health may still raise its resourceVersions. */
  inventory: InventoryEntry[];
  counts: TargetCounts;
  drift: DriftReport[];
  /** A Helm test failed and the release ignores test failures: said in the Ready message. */
  testFailure?: string;
}

export interface PlannedChange {
  object: string;
  action: 'create' | 'update' | 'unchanged' | 'prune';
  /** Field paths that would change; never values. */
  fields: string[];
}

/** What the phased run needs beyond the objects: the render digest and the claim to keep. */
export interface ApplyRunOptions {
  /** The render's digest: hooks run once per applied digest (see docs/apply-phases.md). */
  digest?: string;
  claim?: ClaimedTarget;
}

/** A run in progress: what was applied and created so far, for the inventory either way. */
interface PhasedRun {
  ctx: ReconcileContext;
  api: KubeApi;
  serviceAccount: ServiceAccountRef;
  impersonate: string;
  /** Keys of objects this run deleted (delete policies): not tracked any more. */
  deleted: Set<string>;
  deadline: number;
  objects: ApplyResult['objects'];
  inventory: InventoryEntry[];
  drift: DriftReport[];
  counts: TargetCounts;
  /** Hook and generateName entries of the last inventory, by creation key. */
  previousCreations: Map<string, InventoryEntry[]>;
  redact: (message: string) => string;
  /** A Helm test that failed with `test.ignoreFailures` set. */
  testFailure?: string;
}

/**
 * Server-side apply of the admitted objects, in phases and waves (Helm hooks, Argo CD
 * sync waves and hooks, gitfleet apply-wave), and its dry-run twin for plans.
 */
@Injectable()
export class ApplyStep {
  constructor(
    private readonly snapshots: ClusterLiveSnapshot,
    private readonly applier: Applier,
    private readonly ownership: OwnershipCheck,
    private readonly health: HealthChecker,
    private readonly clock: KubeClock,
    private readonly leases: LeaseKeeper,
    private readonly events: DomainEventBus,
  ) {}

  async run(
    ctx: ReconcileContext,
    api: KubeApi,
    grant: Grant,
    objects: readonly RenderedObject[],
    revision: string,
    options: ApplyRunOptions = {},
  ): Promise<StepOutcome<Applied>> {
    const { target, release, cluster } = ctx;
    const serviceAccount = serviceAccountOf(grant, ctx.release);
    const owner = ownerOf(ctx);
    // Helm's install vs upgrade: whether the target ever applied. Hooks and generateName
    // objects run once per applied render, as Argo CD runs hooks once per sync operation.
    const runHooks = options.digest === undefined || target.appliedDigest !== options.digest;
    // A chart's crds/ are created on install only (Flux's HelmRelease defaults); the rest
    // is planned in phases.
    const crds = await splitHelmCrds(api, objects, {
      installed: target.appliedRevision !== null,
      impersonate: serviceAccountUser(serviceAccount),
    });
    // A granted namespace's own Namespace (admitted only when granted) is applied with
    // gitfleet's identity: the tenant's service account has no cluster-scoped rights.
    const namespaces = crds.apply.filter(isNamespace);
    const tenantObjects = crds.apply.filter((o) => !isNamespace(o));
    const inventory = target.inventory.filter((e) => !isNamespaceEntry(e));
    const plan = planPhases(tenantObjects, {
      install: target.appliedRevision === null,
      runHooks,
      runTests: release.helm?.test?.enable === true,
    });
    const as: ActingAs = { identity: serviceAccountUser(serviceAccount), cluster: cluster.name };
    // Unchanged objects are checked against one LIST per kind shared by the cluster's
    // targets; a user's "reconcile now" reads afresh, so drift made a moment ago shows.
    const live = target.freshReadRequested
      ? undefined
      : await this.snapshots.read(
          cluster.id,
          api,
          owner,
          serviceAccountUser(serviceAccount),
          inventory.filter((e) => e.appliedHash !== undefined),
        );
    // An object another release owns is left untouched, and so is everything else of this
    // run. What the snapshot no longer shows as ours may have been taken (adopt: Always);
    // without a snapshot (a user's fresh read) every inventory object is checked.
    const lost =
      live === undefined
        ? new Set(target.inventory.map(refKey))
        : new Set([...live.entries()].filter(([, obj]) => obj === null).map(([key]) => key));
    // One apply call with nothing applied before it: ownership is checked inside it,
    // after the dry-runs, which tell for free which new objects exist. Otherwise (phases,
    // granted Namespaces applied first) before anything is written.
    const checkInside = plan.single && namespaces.length === 0;
    if (!checkInside) {
      // generateName objects and hooks are created anew, never another release's.
      const named = crds.apply.filter(
        (o) => o.metadata.name !== undefined && o.metadata.name !== '',
      );
      const conflicts = await this.ownership.conflicts(ctx, api, named, owner, lost);
      if (conflicts.length > 0) {
        return failed(conflictFailure(conflicts, revision));
      }
    }
    let own: ApplyResult | undefined;
    if (namespaces.length > 0) {
      own = await this.applier.apply(api, namespaces, {
        owner,
        force: release.force,
        previous: target.inventory.filter(isNamespaceEntry),
      });
      if (!own.ok) {
        return failed(failureOf(own, revision, objects.length, as));
      }
    }
    const applyOptions: ApplyOptions = {
      owner,
      serviceAccount,
      force: release.force,
      previous: inventory,
      ...(live === undefined ? {} : { live }),
    };
    // Created objects of the last render stay tracked while their render stays applied.
    const carried = [...(runHooks ? [] : target.inventory.filter(isCreatedEntry)), ...crds.kept];
    if (plan.single) {
      let applied: ApplyResult;
      try {
        applied = await this.applier.apply(api, plan.steps[0]?.apply ?? [], {
          ...applyOptions,
          ...(checkInside
            ? {
                beforeWrite: async (candidates) => {
                  const conflicts = await this.ownership.conflictsBeforeWrite(
                    ctx,
                    api,
                    candidates,
                    owner,
                    lost,
                  );
                  if (conflicts.length > 0) {
                    throw new OwnershipRefused(conflicts);
                  }
                },
              }
            : {}),
        });
      } catch (error) {
        if (error instanceof OwnershipRefused) {
          return failed(conflictFailure(error.conflicts, revision));
        }
        throw error;
      }
      this.reportRefusal(ctx, applied);
      if (!applied.ok) {
        return failed(failureOf(applied, revision, objects.length, as));
      }
      const value = appliedOf(own === undefined ? applied : merged(own, applied));
      value.inventory.push(...carried);
      return passed(value);
    }
    const work = (): Promise<StepOutcome<Applied>> =>
      this.phased(ctx, api, plan, {
        applyOptions,
        serviceAccount,
        revision,
        carried,
        objects,
        as,
        own,
      });
    return options.claim === undefined ? work() : this.leases.renewWhile(options.claim, work);
  }

  /** The steps in order: apply, create, then gate on health before the next step. */
  private async phased(
    ctx: ReconcileContext,
    api: KubeApi,
    plan: PhasePlan,
    given: {
      applyOptions: ApplyOptions;
      serviceAccount: ServiceAccountRef;
      revision: string;
      carried: InventoryEntry[];
      objects: readonly RenderedObject[];
      as: ActingAs;
      /** The granted Namespaces gitfleet applied as itself before the phases. */
      own: ApplyResult | undefined;
    },
  ): Promise<StepOutcome<Applied>> {
    const { applyOptions, serviceAccount, revision, carried, objects, as, own } = given;
    const previousCreations = new Map<string, InventoryEntry[]>();
    for (const entry of ctx.target.inventory.filter(isCreatedEntry)) {
      const key = creationKey(entry);
      previousCreations.set(key, [...(previousCreations.get(key) ?? []), entry]);
    }
    const run = this.newRun(ctx, api, serviceAccount, objects, {
      inventory: [...carried],
      previousCreations,
    });
    if (own !== undefined) {
      addApplied(run, own);
    }
    const endOf = async (failure: StepFailure): Promise<StepOutcome<Applied>> => {
      const message = await this.syncFail(run, plan, failure.message);
      // What was applied or created stays tracked, so a retry neither leaks nor recreates it.
      return failed({ ...failure, message, inventory: inventoryAfterFailure(run) });
    };
    for (const [i, step] of plan.steps.entries()) {
      if (step.apply.length > 0) {
        const applied = await this.applier.apply(api, step.apply, applyOptions);
        addApplied(run, applied);
        this.reportRefusal(ctx, applied);
        if (!applied.ok) {
          return endOf(failureOf(applied, revision, objects.length, as));
        }
      }
      const created = await this.createAll(run, step.create);
      if (created !== undefined && step.phase === 'Test') {
        // Flux HelmRelease `spec.test`: a failed test fails the release (TestFailed)
        // unless `ignoreFailures`, which only reports it; failed tests stay for inspection.
        if (ctx.release.helm?.test?.ignoreFailures === true) {
          run.testFailure = created.message;
          continue;
        }
        return endOf({ ...created, reason: Reason.TestFailed, revision });
      }
      if (created !== undefined) {
        return endOf({ ...created, revision });
      }
      const next = plan.steps[i + 1];
      if (next?.phase !== step.phase) {
        await this.deleteSucceeded(
          run,
          plan.steps.filter((s) => s.phase === step.phase),
        );
      }
      if (next !== undefined) {
        const gated = await this.gate(run, step);
        if (gated !== undefined) {
          return endOf({ ...gated, revision });
        }
      }
    }
    return passed({
      objects: run.objects,
      inventory: run.inventory,
      counts: run.counts,
      drift: run.drift,
      ...(run.testFailure === undefined ? {} : { testFailure: run.testFailure }),
    });
  }

  /**
   * A release leaving the cluster: its Helm `pre-delete` / Argo CD `PreDelete` hooks
   * `before` its objects are deleted, `post-delete` / `PostDelete` `after`, with their
   * delete policies. Answers why one failed, if one did.
   */
  async runDeleteHooks(
    ctx: ReconcileContext,
    api: KubeApi,
    grant: Grant,
    objects: readonly RenderedObject[],
    when: 'before' | 'after' = 'before',
  ): Promise<string | undefined> {
    const hooks = planDeleteHooks(objects, when);
    if (hooks.length === 0) {
      return undefined;
    }
    const serviceAccount = serviceAccountOf(grant, ctx.release);
    const run = this.newRun(ctx, api, serviceAccount, objects, {
      inventory: [],
      previousCreations: new Map(),
    });
    // Waves of Argo CD hooks run one after the other; Helm's run one at a time anyway.
    for (const wave of [...new Set(hooks.map((h) => h.wave))]) {
      const failure = await this.createAll(
        run,
        hooks.filter((h) => h.wave === wave),
      );
      if (failure !== undefined) {
        return failure.message;
      }
    }
    await this.deleteSucceeded(run, [{ phase: 'PreSync', wave: 0, apply: [], create: hooks }]);
    return undefined;
  }

  /** A phased run's state, its deadline the release's timeout from now. */
  private newRun(
    ctx: ReconcileContext,
    api: KubeApi,
    serviceAccount: ServiceAccountRef,
    objects: readonly RenderedObject[],
    start: Pick<PhasedRun, 'inventory' | 'previousCreations'>,
  ): PhasedRun {
    let redactor: ReturnType<typeof secretRedactorFor> | undefined;
    return {
      ctx,
      api,
      serviceAccount,
      impersonate: serviceAccountUser(serviceAccount),
      deleted: new Set(),
      deadline: this.clock.now() + ctx.release.timeoutSeconds * 1000,
      objects: [],
      drift: [],
      counts: { applied: 0, unchanged: 0, pruned: 0, drifted: 0 },
      ...start,
      // Secret values of this render never reach a message; the redactor is built once.
      redact: (message) => {
        redactor ??= secretRedactorFor(objects);
        return redactor.redact(redactValues(message));
      },
    };
  }

  /** Argo CD: each wave healthy before the next; Helm: post- hooks after the release is ready. */
  private async gate(run: PhasedRun, step: PhaseStep): Promise<StepFailure | undefined> {
    const stepKeys = new Set(step.apply.map((o) => refKey(refOf(o))));
    const mine = run.objects.filter((o) => stepKeys.has(refKey(o.ref)));
    if (mine.length === 0) {
      return undefined;
    }
    const healthy = await this.health.waitForHealthy(
      run.api,
      mine.map((o) => o.live ?? o.ref),
      {
        timeoutMs: Math.max(0, run.deadline - this.clock.now()),
        serviceAccount: run.serviceAccount,
        initial: mine.flatMap((o) => (o.live === undefined ? [] : [o.live])),
      },
    );
    for (const entry of run.inventory) {
      const seen = healthy.resourceVersions[refKey(entry)];
      if (seen !== undefined) {
        entry.resourceVersion = seen;
      }
    }
    if (healthy.healthy) {
      return undefined;
    }
    return {
      result: 'Failed',
      reason: Reason.HealthCheckFailed,
      message: `${step.phase} wave ${step.wave} did not become healthy, so the next wave was not applied: ${healthFailureMessage(healthy)}`,
      ready: 'False',
      retry: 'backoff',
    };
  }

  /** Helm runs hooks one at a time; Argo CD a wave's hooks together, then waits for all. */
  private async createAll(
    run: PhasedRun,
    creations: readonly Creation[],
  ): Promise<StepFailure | undefined> {
    const together = creations.filter((c) => !c.oneAtATime);
    const sequential = creations.filter((c) => c.oneAtATime);
    const started: { creation: Creation; ref: ObjectRef }[] = [];
    for (const creation of together) {
      const ref = await this.createOne(run, creation);
      if (typeof ref === 'string') {
        return hookFailure(ref);
      }
      started.push({ creation, ref });
    }
    for (const { creation, ref } of started) {
      const problem = await this.waitDone(run, creation, ref);
      if (problem !== undefined) {
        return hookFailure(problem);
      }
    }
    for (const creation of sequential) {
      const ref = await this.createOne(run, creation);
      if (typeof ref === 'string') {
        return hookFailure(ref);
      }
      const problem = await this.waitDone(run, creation, ref);
      if (problem !== undefined) {
        return hookFailure(problem);
      }
    }
    return undefined;
  }

  /** before-hook-creation, then POST; answers the created ref, or why it failed. */
  private async createOne(run: PhasedRun, creation: Creation): Promise<ObjectRef | string> {
    const { api, impersonate } = run;
    const what = describe(creation, creation.object);
    try {
      if (creation.policies.has('BeforeHookCreation')) {
        const earlier = isGenerated(creation.object)
          ? (run.previousCreations.get(creationKey(creation.object)) ?? [])
          : [refOf(creation.object)];
        for (const ref of earlier) {
          await this.deleteAndWait(run, ref);
        }
        run.previousCreations.delete(creationKey(creation.object));
      }
      const live = await api.create(creation.object, { fieldManager: FIELD_MANAGER, impersonate });
      const ref = refOf(live);
      const entry: InventoryEntry = { ...ref };
      if (live.metadata.resourceVersion !== undefined) {
        entry.resourceVersion = live.metadata.resourceVersion;
      }
      if (isGenerated(creation.object)) {
        entry.generateName = generateNameOf(creation.object);
      }
      if (creation.hook !== undefined) {
        entry.hook = creation.hook;
      } else {
        // A plain generateName object is part of the release: health and counts see it.
        entry.appliedHash = desiredHash(creation.object);
        run.objects.push({
          ref,
          action: 'created',
          hash: entry.appliedHash,
          resourceVersion: live.metadata.resourceVersion,
          live,
        });
      }
      run.inventory.push(entry);
      run.counts.applied++;
      return ref;
    } catch (error) {
      if (!(error instanceof KubeError)) {
        throw error;
      }
      const message = run.redact(error.message);
      return isKubeError(error, 'AlreadyExists')
        ? `${what} already exists and its delete policy has no before-hook-creation: ${message}`
        : `${what} could not be created: ${message}`;
    }
  }

  /** Helm's WatchUntilReady: a Job until Complete or Failed, a Pod until it ends. */
  private async waitDone(
    run: PhasedRun,
    creation: Creation,
    ref: ObjectRef,
  ): Promise<string | undefined> {
    const what = describe(creation, undefined, ref);
    for (let attempt = 0; ; attempt++) {
      const live = await run.api.get(ref, { impersonate: run.impersonate });
      if (live === undefined) {
        return `${what} disappeared before it completed`;
      }
      const state = hookState(live);
      if (state.done) {
        if (state.failed === undefined) {
          return undefined;
        }
        if (creation.policies.has('HookFailed')) {
          await this.deleteAndWait(run, ref);
          dropEntry(run, ref);
        }
        return `${what} failed: ${state.failed}`;
      }
      if (this.clock.now() >= run.deadline) {
        return `${what} did not complete within ${run.ctx.release.timeoutSeconds}s`;
      }
      await this.clock.sleep(
        Math.min(backoffDelay(attempt, 2_000, 250), Math.max(1, run.deadline - this.clock.now())),
      );
    }
  }

  /** hook-succeeded: after every hook of the phase succeeded, in reverse order (Helm). */
  private async deleteSucceeded(run: PhasedRun, steps: readonly PhaseStep[]): Promise<void> {
    const done = steps.flatMap((s) => s.create).filter((c) => c.policies.has('HookSucceeded'));
    const created = run.inventory.filter((e) => e.hook !== undefined);
    for (const creation of done.reverse()) {
      const key = creationKey(creation.object);
      for (const entry of created.filter((e) => creationKey(e) === key).reverse()) {
        await this.deleteAndWait(run, entry);
        dropEntry(run, entry);
      }
    }
  }

  /** Argo CD SyncFail hooks: created when the run failed; their own failure is only reported. */
  private async syncFail(run: PhasedRun, plan: PhasePlan, message: string): Promise<string> {
    if (plan.syncFail.length === 0) {
      return message;
    }
    const problem = await this.createAll(run, plan.syncFail);
    return problem === undefined ? message : `${message}; ${problem.message}`;
  }

  private async deleteAndWait(run: PhasedRun, ref: ObjectRef): Promise<void> {
    const opts = { impersonate: run.impersonate };
    run.deleted.add(refKey(ref));
    if (!(await run.api.delete(ref, { ...opts, propagationPolicy: 'Background' }))) {
      return;
    }
    for (let attempt = 0; (await run.api.get(ref, opts)) !== undefined; attempt++) {
      if (this.clock.now() >= run.deadline) {
        throw new KubeError('Timeout', `${refString(ref)} was deleted but is still there`);
      }
      await this.clock.sleep(backoffDelay(attempt, 1_000, 50));
    }
  }

  private reportRefusal(ctx: ReconcileContext, applied: ApplyResult): void {
    if (!applied.ok && applied.errors.some((e) => ACCESS_CODES.has(e.code))) {
      // Refused as if the tenant's namespaces or identity were gone (a cluster rebuilt empty).
      this.events.publish(new TenantAccessRefused(ctx.target.tenantId, ctx.cluster.id));
    }
  }

  /**
   * What applying would change: a server-side dry-run of each object against
   * live. Field paths only, never values, so Secret data cannot leak.
   */
  async dryRun(
    api: KubeApi,
    objects: readonly RenderedObject[],
    impersonate: string,
  ): Promise<PlannedChange[]> {
    const changes: PlannedChange[] = [];
    for (const desired of objects) {
      const ref = refOf(desired);
      if (isGenerated(desired)) {
        // Named by the cluster on create: nothing live to compare with.
        const name = `${generateNameOf(desired) ?? ''}*`;
        changes.push({ object: refString({ ...ref, name }), action: 'create', fields: [] });
        continue;
      }
      // As the real apply: a granted namespace's Namespace goes as gitfleet itself.
      const as = isNamespace(desired) ? {} : { impersonate };
      const live = await api.get(ref, as);
      if (live === undefined) {
        changes.push({ object: refString(ref), action: 'create', fields: [] });
        continue;
      }
      const dryRun = await api.apply(desired, {
        fieldManager: FIELD_MANAGER,
        force: true,
        dryRun: true,
        ...as,
      });
      const fields = diffPaths(comparable(live), comparable(dryRun));
      changes.push({
        object: refString(ref),
        action: fields.length === 0 ? 'unchanged' : 'update',
        fields,
      });
    }
    return changes;
  }
}

const isNamespace = (o: RenderedObject): boolean => o.apiVersion === 'v1' && o.kind === 'Namespace';
const isNamespaceEntry = (e: InventoryEntry): boolean => e.group === '' && e.kind === 'Namespace';

/** Two successful applies as one: namespaces first, as the apply order has them. */
function merged(first: ApplyResult, second: ApplyResult): ApplyResult {
  return {
    ok: true,
    objects: [...first.objects, ...second.objects],
    errors: [],
    drift: [...first.drift, ...second.drift],
    counts: {
      created: first.counts.created + second.counts.created,
      configured: first.counts.configured + second.counts.configured,
      unchanged: first.counts.unchanged + second.counts.unchanged,
      recreated: first.counts.recreated + second.counts.recreated,
    },
  };
}

function appliedOf(applied: ApplyResult): Applied {
  return {
    objects: applied.objects,
    inventory: applied.objects.map((o) => ({
      ...o.ref,
      appliedHash: o.hash,
      resourceVersion: o.resourceVersion,
    })),
    counts: {
      applied: applied.counts.created + applied.counts.configured + applied.counts.recreated,
      unchanged: applied.counts.unchanged,
      pruned: 0,
      drifted: applied.drift.length,
    },
    drift: applied.drift,
  };
}

function failureOf(
  applied: ApplyResult,
  revision: string,
  total: number,
  as: ActingAs,
): StepFailure {
  const base = { result: 'Failed', ready: 'False', revision, retry: 'backoff' } as const;
  if (applied.clusterError !== undefined) {
    return { ...base, reason: Reason.ClusterUnreachable, message: messageOf(applied.clusterError) };
  }
  const { reason, message } = objectFailure(
    applied.errors,
    total,
    as,
    applied.failedPhase === 'validation' ? Reason.ValidationFailed : Reason.ApplyFailed,
  );
  return { ...base, reason, message };
}

function isCreatedEntry(entry: InventoryEntry): boolean {
  return entry.hook !== undefined || entry.generateName !== undefined;
}

function describe(creation: Creation, obj?: RenderedObject, ref?: ObjectRef): string {
  const r = ref ?? (obj === undefined ? undefined : refOf(obj));
  const name =
    r === undefined
      ? ''
      : refString(
          obj !== undefined && isGenerated(obj)
            ? { ...r, name: `${generateNameOf(obj) ?? ''}*` }
            : r,
        );
  return creation.hook === undefined ? name : `${creation.hook} hook ${name}`;
}

function hookFailure(message: string): StepFailure {
  return {
    result: 'Failed',
    reason: Reason.HookFailed,
    message,
    ready: 'False',
    retry: 'backoff',
  };
}

function addApplied(run: PhasedRun, applied: ApplyResult): void {
  const value = appliedOf(applied);
  run.objects.push(...value.objects);
  run.inventory.push(...value.inventory);
  run.drift.push(...value.drift);
  run.counts.applied += value.counts.applied;
  run.counts.unchanged += value.counts.unchanged;
  run.counts.drifted += value.counts.drifted;
}

function dropEntry(run: PhasedRun, ref: ObjectRef): void {
  const key = refKey(ref);
  run.inventory = run.inventory.filter((e) => refKey(e) !== key);
}

/** The last inventory with what this run applied or created laid over it. */
function inventoryAfterFailure(run: PhasedRun): InventoryEntry[] {
  const byKey = new Map(run.ctx.target.inventory.map((e) => [refKey(e), e]));
  for (const key of run.deleted) {
    byKey.delete(key);
  }
  for (const entry of run.inventory) {
    byKey.set(refKey(entry), entry);
  }
  return [...byKey.values()];
}

/** A run that would take objects another release owns: nothing of it is written. */
function conflictFailure(conflicts: readonly OwnershipConflict[], revision: string): StepFailure {
  return {
    result: 'Failed',
    reason: Reason.Conflict,
    message: conflictMessage(conflicts),
    ready: 'False',
    revision,
    conflicts: conflicts.map((c) => ({ ...c.ref })),
    retry: 'interval',
  };
}
