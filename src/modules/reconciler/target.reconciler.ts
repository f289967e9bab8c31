import { Inject, Injectable, Logger } from '@nestjs/common';
import { clusterHold } from 'src/clusters/capi/cluster-hold';
import type { Cluster } from 'src/clusters/cluster.types';
import { runWithLogContext } from 'src/common/logging/request-context';
import { PolicyService } from 'src/modules/rendering/policy.service';
import { RenderingService } from 'src/modules/rendering/rendering.service';
import { buildVariables } from 'src/modules/rendering/variables';
import type {
  KubeObject as RenderedObject,
  RenderResult,
} from 'src/modules/rendering/rendering.types';
import type { ReleaseEntity } from 'src/modules/releases/entities/release.entity';
import type {
  InventoryEntry,
  TargetCondition,
  TargetCounts,
  TargetEntity,
  TargetResult,
} from 'src/modules/releases/entities/target.entity';
import { ReleaseRepository } from 'src/modules/releases/release.repository';
import {
  ClaimedTarget,
  TargetOutcome,
  TargetRepository,
} from 'src/modules/releases/target.repository';
import { type ReleaseArtifact, SourcesService } from 'src/modules/sources/sources.service';
import type { Grant } from 'src/tenants/grants/grant.types';
import { ClusterApiPool } from './cluster-api.pool';
import { ClusterLiveSnapshot } from './cluster-live-snapshot';
import { Reason, setConditions } from './conditions';
import {
  Applier,
  secretRedactorFor,
  serviceAccountUser,
  type ServiceAccountRef,
} from './kube/applier.service';
import type { KubeApi } from './kube/kube-api.client';
import { HealthChecker, healthFailureMessage } from './kube/health-checker.service';
import { KubeError } from './kube/kube.errors';
import type { DriftReport, KubeObject, ObjectRef } from './kube/kube.types';
import {
  comparable,
  diffPaths,
  FIELD_MANAGER,
  refKey,
  refOf,
  refString,
} from './kube/kube-objects';
import { Pruner } from './kube/pruner.service';
import { ReconcilerMetrics, type TargetLabels } from './reconciler.metrics';
import type { NewEvent } from 'src/modules/events/event.repository';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';
import { RenderCache } from './render-cache';
import { ReconcileContextLoader, type ReconcileContext } from './reconcile-context.loader';

export interface PlannedChange {
  object: string;
  action: 'create' | 'update' | 'unchanged' | 'prune';
  /** Field paths that would change; never values. */
  fields: string[];
}

export interface TargetPlan {
  cluster: string;
  revision: string;
  changes: PlannedChange[];
}

/** Why a run ended, and when the target is due again. */
interface RunEnd {
  result: TargetResult;
  reason: Reason;
  message: string;
  ready: 'True' | 'False' | 'Unknown';
  stalled?: boolean;
  revision: string | null;
  /** Inventory to store; undefined keeps the previous one (nothing changed in the cluster). */
  inventory?: InventoryEntry[];
  appliedRevision?: string | null;
  appliedDigest?: string | null;
  counts?: TargetCounts;
  drift?: DriftReport[];
  retry: 'interval' | 'backoff';
}

/** A failed step: becomes the run's end without touching the cluster further. */
class StepFailed extends Error {
  constructor(readonly end: Omit<RunEnd, 'revision'> & { revision?: string | null }) {
    super(end.message);
  }
}

const MAX_MESSAGE = 2_000;

/**
 * Reconciles one target, Flux-shaped: load, check suspend/deletion, do the
 * work (artifact → render → policy → apply → prune → health), and always
 * record status at the end, under the target's lease.
 */
@Injectable()
export class TargetReconciler {
  private readonly logger = new Logger(TargetReconciler.name);

  constructor(
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly targets: TargetRepository,
    private readonly releases: ReleaseRepository,
    private readonly contexts: ReconcileContextLoader,
    private readonly sources: SourcesService,
    private readonly rendering: RenderingService,
    private readonly policy: PolicyService,
    private readonly renderCache: RenderCache,
    private readonly pool: ClusterApiPool,
    private readonly snapshots: ClusterLiveSnapshot,
    private readonly applier: Applier,
    private readonly pruner: Pruner,
    private readonly health: HealthChecker,
    private readonly metrics: ReconcilerMetrics,
  ) {}

  /**
   * Reconciles a claimed target. `batch` holds the contexts the worker loaded for its
   * whole claim; without it the context is loaded here. No context: the target,
   * release, cluster or tenant is gone, nothing is left to do.
   */
  async reconcile(
    claim: ClaimedTarget,
    batch?: ReadonlyMap<string, ReconcileContext>,
  ): Promise<void> {
    const reconcileId = `${claim.id}:${claim.fencingToken}`;
    await runWithLogContext({ reconcileId, targetId: claim.id }, async () => {
      const ctx = (batch ?? (await this.contexts.load([claim]))).get(claim.id);
      if (ctx !== undefined) {
        await this.run(claim, ctx);
      }
    });
  }

  private async run(claim: ClaimedTarget, ctx: ReconcileContext): Promise<void> {
    const started = new Date();
    const { target, release, cluster, tenantName } = ctx;
    const labels = { tenant: tenantName, cluster: cluster.name, release: release.name };

    // A paused or departing Cluster API cluster is left alone: no apply, no prune.
    const held = clusterHold(cluster);
    if (held !== undefined) {
      await this.hold(claim, target, release, started, held, labels);
      return;
    }
    if (target.removing || release.deletionRequestedAt !== null) {
      await this.remove(claim, ctx);
      return;
    }
    if (release.suspended || target.suspended) {
      await this.targets.releaseLease(
        claim,
        this.options.replicaId,
        this.dueIn(release.intervalSeconds),
      );
      return;
    }

    let end: RunEnd;
    try {
      end = await this.converge(claim, ctx, started);
    } catch (error) {
      end = this.endFromError(error, target);
    }
    const durationMs = Date.now() - started.getTime();
    this.metrics.observe(labels, end.result, durationMs / 1000, end.counts);
    if (await this.record(claim, target, release, started, durationMs, end, labels)) {
      this.metrics.setReady(labels, end.ready);
      this.logger.log({
        msg: 'target reconciled',
        ...labels,
        result: end.result,
        reason: end.reason,
        revision: end.revision,
        durationMs,
        ...(end.counts === undefined ? {} : { counts: end.counts }),
      });
    }
  }

  private async converge(
    claim: ClaimedTarget,
    ctx: ReconcileContext,
    started: Date,
  ): Promise<RunEnd> {
    const { target, release, cluster, tenantName } = ctx;
    const grant = grantOf(ctx);
    await this.checkDependencies(claim, release);

    let artifact;
    try {
      artifact = await this.artifactOf(ctx);
    } catch (error) {
      // A failed read never deletes: nothing is applied or pruned.
      throw new StepFailed({
        result: 'Failed',
        reason: Reason.ArtifactFailed,
        message: `source artifact unavailable: ${messageOf(error)}`,
        ready: 'False',
        retry: 'backoff',
      });
    }
    const revision = artifact.revision;

    const rendered = await this.render(release, cluster, tenantName, artifact, revision).catch(
      (error: unknown) => {
        throw new StepFailed({
          result: 'Failed',
          reason: Reason.BuildFailed,
          message: messageOf(error),
          ready: 'False',
          stalled: true,
          revision,
          retry: 'interval',
        });
      },
    );
    let objects: RenderedObject[];
    try {
      objects = this.admit(rendered, grant, release, tenantName);
    } catch (error) {
      throw new StepFailed({
        result: 'Failed',
        reason: Reason.PolicyViolation,
        message: messageOf(error),
        ready: 'False',
        stalled: true,
        revision,
        retry: 'interval',
      });
    }
    if (objects.length === 0 && !release.allowEmpty) {
      throw new StepFailed({
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

    const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
    const serviceAccount = serviceAccountOf(grant, release);
    const owner = { tenant: tenantName, release: release.name };
    // Unchanged objects are checked against one LIST per kind shared by the cluster's
    // targets; a user's "reconcile now" reads afresh, so drift made a moment ago shows.
    const live = target.freshReadRequested
      ? undefined
      : await this.snapshots.read(
          cluster.id,
          api,
          owner,
          serviceAccountUser(serviceAccount),
          target.inventory.filter((e) => e.appliedHash !== undefined),
        );
    const applied = await this.applier.apply(api, objects, {
      owner,
      serviceAccount,
      force: release.force,
      previous: target.inventory,
      ...(live === undefined ? {} : { live }),
    });
    if (!applied.ok) {
      const clusterProblem = applied.clusterError !== undefined;
      const list = applied.errors
        .slice(0, 10)
        .map((e) => `${refString(e.ref)}: ${e.message}`)
        .join('; ');
      throw new StepFailed({
        result: 'Failed',
        reason: clusterProblem
          ? Reason.ClusterUnreachable
          : applied.failedPhase === 'validation'
            ? Reason.ValidationFailed
            : Reason.ApplyFailed,
        message: clusterProblem ? messageOf(applied.clusterError) : list,
        ready: 'False',
        revision,
        retry: 'backoff',
      });
    }
    const inventory: InventoryEntry[] = applied.objects.map((o) => ({
      ...o.ref,
      appliedHash: o.hash,
      resourceVersion: o.resourceVersion,
    }));
    const counts: TargetCounts = {
      applied: applied.counts.created + applied.counts.configured + applied.counts.recreated,
      unchanged: applied.counts.unchanged,
      pruned: 0,
      drifted: applied.drift.length,
    };
    await this.keepLeaseIfOld(claim, started);

    if (release.prune) {
      const pruned = await this.pruner.prune(api, target.inventory, inventory, {
        owner,
        serviceAccount,
      });
      counts.pruned = pruned.deleted.length;
      if (pruned.errors.length > 0) {
        return {
          result: 'Failed',
          reason: Reason.PruneFailed,
          message: pruned.errors.map((e) => `${refString(e.ref)}: ${e.message}`).join('; '),
          ready: 'False',
          revision,
          // What was applied is in the cluster; keep the objects that could not be pruned tracked.
          inventory: [...inventory, ...pruned.errors.map((e) => ({ ...e.ref }))],
          appliedRevision: revision,
          appliedDigest: rendered.digest,
          counts,
          drift: applied.drift,
          retry: 'backoff',
        };
      }
    }

    if (release.wait) {
      const healthRefs: (KubeObject | ObjectRef)[] = [
        ...applied.objects.map((o) => o.live ?? o.ref),
        ...release.healthChecks.map((h) => {
          const [group, version] = h.apiVersion.includes('/')
            ? h.apiVersion.split('/')
            : ['', h.apiVersion];
          return {
            group: group ?? '',
            version: version ?? 'v1',
            kind: h.kind,
            namespace: h.namespace,
            name: h.name,
          };
        }),
      ];
      const renew = setInterval(
        () => void this.keepLease(claim).catch(() => undefined),
        this.options.leaseMs / 3,
      );
      let healthy;
      try {
        healthy = await this.health.waitForHealthy(api, healthRefs, {
          timeoutMs: release.timeoutSeconds * 1000,
          serviceAccount,
          initial: applied.objects.flatMap((o) => (o.live === undefined ? [] : [o.live])),
        });
      } finally {
        clearInterval(renew);
      }
      // Controllers write status after our apply; remembering the versions seen
      // healthy keeps the next interval's unchanged check free of dry-runs.
      for (const entry of inventory) {
        const seen = healthy.resourceVersions[refKey(entry)];
        if (seen !== undefined) {
          entry.resourceVersion = seen;
        }
      }
      if (!healthy.healthy) {
        return {
          result: 'Failed',
          reason: Reason.HealthCheckFailed,
          message: healthFailureMessage(healthy),
          ready: 'False',
          revision,
          inventory,
          appliedRevision: revision,
          appliedDigest: rendered.digest,
          counts,
          drift: applied.drift,
          retry: 'backoff',
        };
      }
    }
    return {
      result: 'Succeeded',
      reason: Reason.ReconciliationSucceeded,
      message: `Applied revision: ${revision}`,
      ready: 'True',
      revision,
      inventory,
      appliedRevision: revision,
      appliedDigest: rendered.digest,
      counts,
      drift: applied.drift,
      retry: 'interval',
    };
  }

  /**
   * What a reconcile of this target would change, without changing anything:
   * server-side dry-run of every desired object against live, plus what would
   * be pruned. Field paths only, never values, so Secret data cannot leak.
   */
  async plan(
    tenantId: string,
    release: ReleaseEntity,
    target: TargetEntity,
    batch?: ReadonlyMap<string, ReconcileContext>,
  ): Promise<TargetPlan> {
    const claim = {
      id: target.id,
      tenantId,
      releaseId: release.id,
      clusterId: target.clusterId,
      fencingToken: '0',
    };
    const ctx = (batch ?? (await this.contexts.load([claim]))).get(claim.id);
    if (ctx === undefined) {
      throw new Error(`target ${target.id} was deleted`);
    }
    const { cluster, tenantName } = ctx;
    const grant = grantOf(ctx);
    const artifact = await this.artifactOf(ctx);
    const rendered = await this.render(release, cluster, tenantName, artifact, artifact.revision);
    const objects = this.admit(rendered, grant, release, tenantName);
    const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
    const impersonate = serviceAccountUser(serviceAccountOf(grant, release));
    try {
      return await this.planObjects(api, objects, impersonate, release, target, {
        cluster: cluster.name,
        revision: artifact.revision,
      });
    } catch (error) {
      // The API may quote what it was sent: never Secret values.
      throw new Error(secretRedactorFor(objects).redact(messageOf(error)));
    }
  }

  private async planObjects(
    api: KubeApi,
    objects: readonly RenderedObject[],
    impersonate: string,
    release: ReleaseEntity,
    target: TargetEntity,
    plan: Omit<TargetPlan, 'changes'>,
  ): Promise<TargetPlan> {
    const changes: PlannedChange[] = [];
    for (const desired of objects) {
      const ref = refOf(desired);
      const live = await api.get(ref, { impersonate });
      if (live === undefined) {
        changes.push({ object: refString(ref), action: 'create', fields: [] });
        continue;
      }
      const dryRun = await api.apply(desired, {
        fieldManager: FIELD_MANAGER,
        force: true,
        dryRun: true,
        impersonate,
      });
      const fields = diffPaths(comparable(live), comparable(dryRun));
      changes.push({
        object: refString(ref),
        action: fields.length === 0 ? 'unchanged' : 'update',
        fields,
      });
    }
    const desiredKeys = new Set(objects.map((o) => refKey(refOf(o))));
    if (release.prune) {
      for (const entry of target.inventory) {
        if (!desiredKeys.has(refKey(entry))) {
          changes.push({ object: refString(entry), action: 'prune', fields: [] });
        }
      }
    }
    return { ...plan, changes };
  }

  private async render(
    release: ReleaseEntity,
    cluster: Cluster,
    tenantName: string,
    { dir: artifactDir, chartPath }: ReleaseArtifact,
    revision: string,
  ): Promise<RenderResult> {
    const facts = {
      clusterName: cluster.name,
      clusterLabels: cluster.labels,
      kubernetesVersion: cluster.kubernetesVersion ?? '1.34.0',
      apiVersions: [],
      targetNamespace: release.targetNamespace,
      tenant: tenantName,
    };
    // Helm sees every fact (capabilities); plain and kustomize only the variables the
    // artifact references, so clusters agreeing on those share one render.
    const helm = release.kind === 'helm' || release.helm !== null;
    const used = helm ? undefined : await this.renderCache.referencedVariables(artifactDir);
    const key = RenderCache.key({
      release: release.id,
      generation: release.generation,
      revision,
      facts:
        used === undefined ? facts : [...buildVariables(facts)].filter(([name]) => used.has(name)),
    });
    return this.renderCache.get(key, () =>
      this.rendering.render({
        artifactRoot: artifactDir,
        release: {
          path: release.path,
          kind: release.kind ?? undefined,
          variables: release.variables,
          helm:
            release.helm === null
              ? undefined
              : {
                  // A helm source's chart is an archive in the artifact; else a path in the source.
                  chartPath: chartPath ?? release.helm.chart,
                  valuesFiles: release.helm.valuesFiles,
                  values: release.helm.values,
                  releaseName: release.helm.releaseName ?? release.name,
                },
        },
        target: facts,
      }),
    );
  }

  /** The rendered objects the grant allows, with namespaces defaulted and ownership labels. */
  private admit(
    rendered: RenderResult,
    grant: Grant,
    release: ReleaseEntity,
    tenantName: string,
  ): RenderedObject[] {
    return this.policy.check(
      rendered.objects,
      {
        namespaces: grant.namespaces,
        allowClusterScoped: grant.allowClusterScoped,
        targetNamespace: release.targetNamespace,
      },
      { owner: { tenant: tenantName, release: release.name } },
    ).objects;
  }

  private artifactOf({ release, source }: ReconcileContext): Promise<ReleaseArtifact> {
    if (source === undefined) {
      throw new Error(`the release's source no longer exists`);
    }
    return this.sources.releaseArtifactOf(source, release.helm);
  }

  private async checkDependencies(claim: ClaimedTarget, release: ReleaseEntity): Promise<void> {
    if (release.dependsOn.length === 0) {
      return;
    }
    const waiting: string[] = [];
    for (const name of release.dependsOn) {
      const dependency = await this.releases.findByName(claim.tenantId, name);
      const target =
        dependency === null
          ? null
          : await this.targets.findForCluster(claim.tenantId, dependency.id, claim.clusterId);
      const ready =
        dependency !== null &&
        target !== null &&
        target.readyStatus === 'True' &&
        target.observedGeneration === dependency.generation;
      if (!ready) {
        waiting.push(name);
      }
    }
    if (waiting.length > 0) {
      throw new StepFailed({
        result: 'Skipped',
        reason: Reason.DependencyNotReady,
        message: `waiting for ${waiting.map((n) => `"${n}"`).join(', ')} to be Ready on this cluster`,
        ready: 'False',
        retry: 'backoff',
      });
    }
  }

  /** Records why the cluster is held, once; afterwards only the next check is scheduled. */
  private async hold(
    claim: ClaimedTarget,
    target: TargetEntity,
    release: ReleaseEntity,
    started: Date,
    held: { reason: 'ClusterPaused' | 'ClusterDeleting'; message: string },
    labels: TargetLabels,
  ): Promise<void> {
    const ready = target.conditions.find((c) => c.type === 'Ready');
    if (ready?.reason === held.reason && ready.message === held.message) {
      await this.targets.releaseLease(
        claim,
        this.options.replicaId,
        this.dueIn(release.intervalSeconds),
      );
      return;
    }
    await this.record(
      claim,
      target,
      release,
      started,
      0,
      {
        result: 'Skipped',
        reason: Reason[held.reason],
        message: held.message,
        ready: 'False',
        revision: target.lastAttemptedRevision,
        retry: 'interval',
      },
      labels,
    );
  }

  /** The cluster is no longer selected or the release is going: prune, then drop the row. */
  private async remove(claim: ClaimedTarget, ctx: ReconcileContext): Promise<void> {
    const { target, release, cluster, tenantName, grant } = ctx;
    if (release.prune && target.inventory.length > 0) {
      try {
        const api = await this.pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
        const serviceAccount = grant === undefined ? undefined : serviceAccountOf(grant, release);
        const result = await this.pruner.prune(api, target.inventory, [], {
          owner: { tenant: tenantName, release: release.name },
          serviceAccount,
        });
        if (result.errors.length > 0) {
          throw new Error(result.errors.map((e) => `${refString(e.ref)}: ${e.message}`).join('; '));
        }
      } catch (error) {
        const message = `pruning before removal failed: ${messageOf(error)}`;
        this.logger.warn({ msg: message, cluster: cluster.name, release: release.name });
        await this.targets.complete(
          claim,
          this.options.replicaId,
          {
            nextRunAt: this.backoff(target.failureCount + 1, release.retryIntervalSeconds),
            failureCount: target.failureCount + 1,
            lastError: truncate(message),
            lastResult: 'Failed',
          },
          undefined,
        );
        return;
      }
    }
    if (await this.targets.deleteClaimed(claim, this.options.replicaId)) {
      await this.releases.deleteIfNoTargets(release.id);
    }
  }

  private async record(
    claim: ClaimedTarget,
    target: TargetEntity,
    release: ReleaseEntity,
    started: Date,
    durationMs: number,
    end: RunEnd,
    labels: TargetLabels,
  ): Promise<boolean> {
    const now = new Date();
    const failures = end.result === 'Succeeded' ? 0 : target.failureCount + 1;
    const conditions: Omit<TargetCondition, 'lastTransitionTime'>[] = [
      { type: 'Ready', status: end.ready, reason: end.reason, message: truncate(end.message) },
    ];
    if (end.stalled === true) {
      conditions.push({
        type: 'Stalled',
        status: 'True',
        reason: end.reason,
        message: truncate(end.message),
      });
    }
    const nextRunAt =
      end.retry === 'interval' && end.result === 'Succeeded'
        ? this.dueIn(release.intervalSeconds)
        : end.retry === 'interval'
          ? this.dueIn(release.retryIntervalSeconds)
          : this.backoff(failures, release.retryIntervalSeconds);
    const outcome: TargetOutcome = {
      nextRunAt,
      conditions: setConditions(target.conditions, conditions, now),
      readyStatus: end.ready,
      lastResult: end.result,
      lastDurationMs: durationMs,
      lastError: end.result === 'Succeeded' ? null : truncate(end.message),
      lastAttemptedRevision: end.revision,
      failureCount: failures,
      lastReconciledAt: now,
      observedGeneration: release.generation,
      ...(end.counts === undefined ? {} : { counts: end.counts }),
      ...(end.inventory === undefined ? {} : { inventory: end.inventory }),
      ...(end.appliedRevision === undefined ? {} : { appliedRevision: end.appliedRevision }),
      ...(end.appliedDigest === undefined ? {} : { appliedDigest: end.appliedDigest }),
    };
    const events = this.eventsFor(claim, target, end, labels, now);
    const written = await this.targets.complete(
      claim,
      this.options.replicaId,
      outcome,
      {
        startedAt: started,
        durationMs,
        revision: end.revision,
        result: end.result,
        reason: end.reason,
        message: truncate(end.message),
        counts: end.counts ?? null,
        drift: (end.drift ?? []).map((d) => ({ object: refString(d.ref), fields: d.fields })),
      },
      undefined,
      events,
    );
    if (!written) {
      this.logger.warn({
        msg: 'result discarded: the lease was lost to another replica',
        targetId: claim.id,
      });
    }
    return written;
  }

  /**
   * Events only for what changed: a new Ready reason, a newly applied revision,
   * corrected drift. A quiet steady state writes none.
   */
  private eventsFor(
    claim: ClaimedTarget,
    target: TargetEntity,
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
        message: truncate(end.message),
        metadata: end.counts === undefined ? {} : { counts: end.counts },
      });
    }
    if ((end.drift ?? []).length > 0) {
      const objects = (end.drift ?? []).map((d) => ({
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

  private endFromError(error: unknown, target: TargetEntity): RunEnd {
    if (error instanceof StepFailed) {
      return { revision: target.lastAttemptedRevision, ...error.end };
    }
    const unreachable = error instanceof KubeError;
    if (!unreachable) {
      this.logger.error(error instanceof Error ? error : String(error));
    }
    return {
      result: 'Failed',
      reason: unreachable ? Reason.ClusterUnreachable : Reason.ApplyFailed,
      message: messageOf(error),
      ready: 'False',
      revision: target.lastAttemptedRevision,
      retry: 'backoff',
    };
  }

  /** Renews the lease only once a third of it has passed: most runs end well before. */
  private async keepLeaseIfOld(claim: ClaimedTarget, started: Date): Promise<void> {
    if (Date.now() - started.getTime() >= this.options.leaseMs / 3) {
      await this.keepLease(claim);
    }
  }

  private async keepLease(claim: ClaimedTarget): Promise<void> {
    if (!(await this.targets.renewLease(claim, this.options.replicaId, this.options.leaseMs))) {
      throw new Error('lease lost');
    }
  }

  private dueIn(seconds: number): Date {
    // ±10% jitter spreads targets created together over the interval.
    const jitter = 0.9 + Math.random() * 0.2;
    return new Date(Date.now() + seconds * 1000 * jitter);
  }

  private backoff(failures: number, retryIntervalSeconds: number): Date {
    const base = Math.min(retryIntervalSeconds * 1000, 5_000);
    const exp = Math.min(
      base * 2 ** Math.max(0, failures - 1),
      this.options.maxBackoffMs,
      retryIntervalSeconds * 1000 * 8,
    );
    return new Date(Date.now() + exp * (0.5 + Math.random() * 0.5));
  }
}

/** The tenant's grant on the cluster, or a stalled run saying it is missing. */
function grantOf({ grant }: ReconcileContext): Grant {
  if (grant === undefined) {
    throw new StepFailed({
      result: 'Failed',
      reason: Reason.GrantMissing,
      message: 'the tenant holds no grant on this cluster',
      ready: 'False',
      stalled: true,
      retry: 'interval',
    });
  }
  return grant;
}

/** Who the tenant's objects are applied as: the grant's service account, in its first namespace. */
function serviceAccountOf(grant: Grant, release: ReleaseEntity): ServiceAccountRef {
  return {
    namespace: grant.namespaces[0] ?? release.targetNamespace,
    name: grant.serviceAccountName,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}
