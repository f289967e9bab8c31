import { Injectable } from '@nestjs/common';
import { SecretRedactor } from 'src/common/redaction/secret-redactor';
import { mapLimit } from 'src/common/async/map-limit';
import { backoffDelay, KubeClock } from './kube-clock';
import {
  isKubeError,
  KubeError,
  redactValues,
  type KubeErrorCode,
} from 'src/common/kube/kube.errors';
import {
  appliedFieldSet,
  apiVersionOf,
  comparable,
  desiredHash,
  diffPaths,
  FIELD_MANAGER,
  isCrd,
  isNamespace,
  ownerSelector,
  refKey,
  refOf,
  refString,
  withOwnerLabels,
} from './kube-objects';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { computeHealth } from './kstatus';
import { LiveReader, type LiveState } from './live-reader';
import { isFirstStage, sortForApply } from './ordering';
import type {
  ApplyAction,
  ApplyResult,
  DriftReport,
  InventoryEntry,
  KubeObject,
  ObjectApplyResult,
  ObjectError,
  ObjectRef,
  Owner,
} from './kube.types';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * Redacts every Secret value (data raw and decoded, stringData) of an object set
 * from a message; for any caller that reports cluster errors about that set.
 */
export function secretRedactorFor(objects: readonly KubeObject[]): SecretRedactor {
  const redactor = new SecretRedactor();
  for (const obj of objects) {
    redactor.addSecretObject(obj);
  }
  return redactor;
}

export function serviceAccountUser(sa: ServiceAccountRef): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

export interface ApplyOptions {
  /** Written as ownership labels on every object; selects the live objects for the cheap check. */
  owner: Owner;
  /** The Grant's service account to impersonate. Omitted: gitfleet's own identity. */
  serviceAccount?: ServiceAccountRef;
  /** Recreate (delete, wait gone, apply) objects whose change hits an immutable field. */
  force?: boolean;
  /** Inventory of the last successful apply: enables the no-request unchanged check. */
  previous?: readonly InventoryEntry[];
  /** Live objects already read (e.g. one LIST per cluster for all Targets); skips the read. */
  live?: LiveState;
  /** Requests in flight within this apply. Default 8. */
  concurrency?: number;
  /** Bound on waiting for CRDs to become Established. Default 30 s. */
  establishTimeoutMs?: number;
  /** Bound on waiting for a deleted object to disappear before recreating it. Default 30 s. */
  recreateTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Called once every object to write has passed its dry-run and before the first write,
   * with whether each exists in the cluster (the dry-run says so for free). It refuses
   * the whole apply by throwing; nothing has been written then.
   */
  beforeWrite?: (objects: readonly WriteCandidate[]) => Promise<void>;
}

/** An object the apply is about to write, and whether the cluster holds it already. */
export interface WriteCandidate {
  ref: ObjectRef;
  exists: boolean;
}

/** Codes that say the cluster (not one object) is the problem: stop and report. */
const CLUSTER_CODES: ReadonlySet<KubeErrorCode> = new Set<KubeErrorCode>([
  'Unreachable',
  'Unauthorized',
  'RateLimited',
  'Timeout',
  'ServerError',
  'ResponseTooLarge',
]);

interface Item {
  obj: KubeObject;
  ref: ObjectRef;
  key: string;
  hash: string;
  prev?: InventoryEntry;
  /** Live object from the cheap read, when the hash matched. */
  live?: KubeObject | null;
  dryRun?: KubeObject;
  recreate?: boolean;
  /** Validation was postponed until stage one exists (kind from a new CRD, new namespace). */
  deferred?: boolean;
}

class ApplyRun {
  readonly results = new Map<string, ObjectApplyResult>();
  readonly errors: ObjectError[] = [];
  clusterError?: KubeError;
  private redactor?: SecretRedactor;

  constructor(
    readonly api: KubeApi,
    readonly opts: ApplyOptions,
    readonly impersonate: string | undefined,
    private readonly objects: readonly KubeObject[],
  ) {}

  get stopped(): boolean {
    return this.clusterError !== undefined || this.opts.signal?.aborted === true;
  }

  /** Records an error; rethrows what is not a Kubernetes error (a bug). */
  fail(item: Item, e: unknown): void {
    if (!(e instanceof KubeError)) {
      throw e;
    }
    const message = this.redact(e.message);
    if (CLUSTER_CODES.has(e.code) && this.clusterError === undefined) {
      // The caller reports the cluster error's own message: scrub it in place too.
      if (e.stack !== undefined) {
        e.stack = this.redact(e.stack);
      }
      e.message = message;
      this.clusterError = e;
    }
    this.errors.push({
      ref: item.ref,
      code: e.code,
      message,
      ...(e.request === undefined ? {} : { request: e.request }),
    });
  }

  /**
   * A cluster may echo any object of the set in an error about another one (a
   * webhook, a reference), so every Secret value of the set is redacted, raw and
   * decoded. Built on the first failure only: a clean apply pays nothing.
   */
  private redact(message: string): string {
    this.redactor ??= secretRedactorFor(this.objects);
    return this.redactor.redact(redactValues(message));
  }
}

/**
 * Server-side apply of one Target's objects into one cluster, as the Grant's service
 * account, with field manager `gitfleet` and `force=true`: gitfleet is the source of truth
 * for the fields it sets (like Flux), so a field another manager changed is taken back
 * instead of failing with a conflict — that is how drift gets corrected.
 *
 * Steps: cheap unchanged check (hash + resourceVersion) → dry-run of everything else
 * (nothing is written if one object is invalid) → stage one (CRDs, Namespaces) → wait
 * for CRDs Established → validate what depended on stage one → the rest.
 */
@Injectable()
export class Applier {
  constructor(
    private readonly clock: KubeClock,
    private readonly liveReader: LiveReader,
  ) {}

  async apply(
    api: KubeApi,
    objects: readonly KubeObject[],
    opts: ApplyOptions,
  ): Promise<ApplyResult> {
    const impersonate = opts.serviceAccount ? serviceAccountUser(opts.serviceAccount) : undefined;
    const run = new ApplyRun(api, opts, impersonate, objects);
    const items = this.itemsOf(run, objects, opts);
    if (run.errors.length > 0) {
      return this.finish(run, items, 'validation');
    }
    const ordered = sortForApply(items, (i) => i.ref);

    // 1. Unchanged since the last apply and nobody touched it: no write, no dry-run.
    const work = await this.changed(run, api, ordered, opts, impersonate);
    if (work === undefined) {
      return this.finish(run, items, 'validation');
    }
    if (work.length === 0) {
      return this.finish(run, items);
    }

    // 2. Validate: dry-run stage one, then everything that does not depend on new stage-one objects.
    const stageOne = work.filter((i) => isFirstStage(i.ref));
    const rest = work.filter((i) => !isFirstStage(i.ref));
    await this.dryRunAll(run, stageOne);
    if (run.errors.length > 0) {
      return this.finish(run, items, 'validation');
    }
    await this.deferOnStageOne(run, api, ordered, stageOne, rest);
    await this.dryRunAll(
      run,
      rest.filter((i) => i.deferred !== true),
    );
    if (run.errors.length > 0) {
      return this.finish(run, items, 'validation');
    }

    if (opts.beforeWrite !== undefined) {
      // A deferred object's kind or namespace is created by this apply: it cannot exist yet.
      await opts.beforeWrite(
        work.map((i) => ({ ref: i.ref, exists: i.deferred !== true && !this.wouldCreate(i) })),
      );
    }

    // 3. Stage one, then wait for the CRDs.
    const failedPhase = await this.applyStageOne(run, api, stageOne);
    if (failedPhase !== undefined) {
      return this.finish(run, items, failedPhase);
    }

    // 4. Validate what waited for stage one, then apply the rest.
    await this.dryRunAll(
      run,
      rest.filter((i) => i.deferred === true),
    );
    if (run.errors.length > 0) {
      return this.finish(run, items, 'validation');
    }
    await this.applyAll(run, rest);
    return this.finish(run, items, run.errors.length > 0 ? 'apply' : undefined);
  }

  /** The desired objects with ownership labels, their hashes and previous inventory entries. */
  private itemsOf(run: ApplyRun, objects: readonly KubeObject[], opts: ApplyOptions): Item[] {
    const prevByKey = new Map((opts.previous ?? []).map((e) => [refKey(e), e]));
    const items: Item[] = [];
    const seen = new Set<string>();
    for (const o of objects) {
      const obj = withOwnerLabels(o, opts.owner);
      const ref = refOf(obj);
      const key = refKey(ref);
      const item: Item = { obj, ref, key, hash: desiredHash(obj), prev: prevByKey.get(key) };
      if (seen.has(key)) {
        run.fail(item, new KubeError('Invalid', `duplicate object ${refString(ref)}`));
      }
      seen.add(key);
      items.push(item);
    }
    return items;
  }

  /**
   * Records the objects unchanged since the last apply (same hash, same live
   * resourceVersion) and answers the rest; undefined when live state could not be read.
   */
  private async changed(
    run: ApplyRun,
    api: KubeApi,
    ordered: Item[],
    opts: ApplyOptions,
    impersonate: string | undefined,
  ): Promise<Item[] | undefined> {
    const candidates = ordered.filter((i) => i.prev?.appliedHash === i.hash);
    let live: LiveState = new Map();
    if (candidates.length > 0) {
      try {
        live =
          opts.live ??
          (await this.liveReader.read(
            api,
            candidates.map((i) => i.ref),
            {
              labelSelector: ownerSelector(opts.owner),
              impersonate,
              concurrency: opts.concurrency,
            },
          ));
      } catch (e) {
        run.fail(candidates[0], e);
        return undefined;
      }
    }
    const work: Item[] = [];
    for (const item of ordered) {
      if (item.prev?.appliedHash === item.hash) {
        item.live = live.get(item.key) ?? null;
        const rv = item.live?.metadata.resourceVersion;
        if (
          item.live &&
          rv !== undefined &&
          rv === item.prev.resourceVersion &&
          item.live.metadata.deletionTimestamp === undefined
        ) {
          this.record(run, item, 'unchanged', item.live);
          continue;
        }
      }
      work.push(item);
    }
    return work;
  }

  /** Marks what cannot be validated before stage one exists: in a new Namespace, of a new CRD's kind. */
  private async deferOnStageOne(
    run: ApplyRun,
    api: KubeApi,
    ordered: Item[],
    stageOne: Item[],
    rest: Item[],
  ): Promise<void> {
    const newNamespaces = new Set(
      stageOne.filter((i) => isNamespace(i.ref) && this.wouldCreate(i)).map((i) => i.ref.name),
    );
    const crdKinds = new Set(
      ordered.filter((i) => isCrd(i.ref)).flatMap((i) => crdServedKinds(i.obj)),
    );
    for (const item of rest) {
      if (item.ref.namespace !== undefined && newNamespaces.has(item.ref.namespace)) {
        item.deferred = true;
        continue;
      }
      if (crdKinds.has(`${item.ref.group}/${item.ref.kind}`)) {
        try {
          const info = await api.resource(apiVersionOf(item.ref), item.ref.kind);
          item.deferred = info === undefined;
        } catch (e) {
          run.fail(item, e);
        }
      }
    }
  }

  /** Applies stage one and waits for its CRDs; answers the phase that failed, if one did. */
  private async applyStageOne(
    run: ApplyRun,
    api: KubeApi,
    stageOne: Item[],
  ): Promise<'apply' | 'establish' | undefined> {
    await this.applyAll(run, stageOne);
    if (run.errors.length > 0) {
      return 'apply';
    }
    const crds = stageOne.filter((i) => isCrd(i.ref) && this.results(run, i) !== 'unchanged');
    if (crds.length > 0) {
      await this.waitEstablished(run, crds);
      if (run.errors.length > 0) {
        return 'establish';
      }
      for (const c of crds) {
        for (const v of crdVersions(c.obj)) {
          api.invalidateDiscovery(v);
        }
      }
    }
    return undefined;
  }

  private results(run: ApplyRun, item: Item): ApplyAction | undefined {
    return run.results.get(item.key)?.action;
  }

  private wouldCreate(item: Item): boolean {
    const rv = item.dryRun?.metadata.resourceVersion;
    return item.dryRun !== undefined && (rv === undefined || rv === '');
  }

  private async dryRunAll(run: ApplyRun, items: readonly Item[]): Promise<void> {
    await mapLimit(
      items,
      run.opts.concurrency ?? 8,
      async (item) => {
        try {
          item.dryRun = await run.api.apply(item.obj, {
            fieldManager: FIELD_MANAGER,
            force: true,
            dryRun: true,
            impersonate: run.impersonate,
            signal: run.opts.signal,
          });
        } catch (e) {
          if (isKubeError(e, 'ImmutableField') && run.opts.force === true) {
            item.recreate = true;
            return;
          }
          run.fail(item, e);
        }
      },
      () => run.stopped,
    );
  }

  private async applyAll(run: ApplyRun, items: readonly Item[]): Promise<void> {
    await mapLimit(
      items,
      run.opts.concurrency ?? 8,
      async (item) => {
        try {
          await this.applyOne(run, item);
        } catch (e) {
          run.fail(item, e);
        }
      },
      () => run.stopped,
    );
  }

  private async applyOne(run: ApplyRun, item: Item): Promise<void> {
    const api = run.api;
    const applyOpts = {
      fieldManager: FIELD_MANAGER,
      force: true,
      impersonate: run.impersonate,
      signal: run.opts.signal,
    };
    if (item.recreate === true) {
      await this.recreate(run, item);
      return;
    }
    const dry = item.dryRun;
    if (dry === undefined) {
      throw new KubeError('Invalid', `${refString(item.ref)} was not validated`);
    }
    const created = this.wouldCreate(item);
    let drift: DriftReport | undefined;
    if (item.prev?.appliedHash === item.hash) {
      // Applied before with this exact content but the live object moved: find out whether
      // someone changed what we own (drift) or only status/other managers' fields did.
      if (created) {
        drift = { ref: item.ref, type: 'Deleted', fields: [] };
      } else {
        // A shared snapshot may predate the dry-run; compare only like with like.
        const fresh =
          item.live !== undefined &&
          item.live !== null &&
          item.live.metadata.resourceVersion === dry.metadata.resourceVersion;
        const live = fresh ? item.live : await api.get(item.ref, { impersonate: run.impersonate });
        if (live) {
          const fields = diffPaths(comparable(live), comparable(dry));
          const sameOwnership = appliedFieldSet(live) === appliedFieldSet(dry);
          if (fields.length === 0 && sameOwnership) {
            this.record(run, item, 'unchanged', live);
            return;
          }
          if (fields.length > 0) {
            drift = { ref: item.ref, type: 'Modified', fields };
          }
        }
      }
    }
    const applied = await api.apply(item.obj, applyOpts);
    const action: ApplyAction = created
      ? 'created'
      : applied.metadata.resourceVersion === dry.metadata.resourceVersion
        ? 'unchanged'
        : 'configured';
    this.record(run, item, action, applied, drift);
  }

  private async recreate(run: ApplyRun, item: Item): Promise<void> {
    const api = run.api;
    const opts = { impersonate: run.impersonate, signal: run.opts.signal };
    await api.delete(item.ref, { ...opts, propagationPolicy: 'Background' });
    const deadline = this.clock.now() + (run.opts.recreateTimeoutMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      if ((await api.get(item.ref, opts)) === undefined) {
        break;
      }
      if (this.clock.now() >= deadline || run.opts.signal?.aborted === true) {
        throw new KubeError(
          'Timeout',
          `${refString(item.ref)} was deleted to be recreated but is still there`,
        );
      }
      await this.clock.sleep(backoffDelay(attempt, 1_000), run.opts.signal);
    }
    const applied = await api.apply(item.obj, {
      ...opts,
      fieldManager: FIELD_MANAGER,
      force: true,
    });
    this.record(run, item, 'recreated', applied);
  }

  private async waitEstablished(run: ApplyRun, crds: readonly Item[]): Promise<void> {
    const deadline = this.clock.now() + (run.opts.establishTimeoutMs ?? 30_000);
    let pending = [...crds];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const still: Item[] = [];
      for (const crd of pending) {
        try {
          const live = await run.api.get(crd.ref, { impersonate: run.impersonate });
          const health = live ? computeHealth(live) : undefined;
          if (health?.status === 'Failed') {
            run.fail(crd, new KubeError('Invalid', `${refString(crd.ref)}: ${health.message}`));
          } else if (health?.status !== 'Current') {
            still.push(crd);
          } else if (live) {
            this.record(run, crd, this.results(run, crd) ?? 'configured', live);
          }
        } catch (e) {
          run.fail(crd, e);
        }
      }
      if (run.errors.length > 0) {
        return;
      }
      pending = still;
      if (pending.length === 0) {
        return;
      }
      if (this.clock.now() >= deadline || run.opts.signal?.aborted === true) {
        for (const crd of pending) {
          run.fail(
            crd,
            new KubeError('Timeout', `${refString(crd.ref)} did not become Established in time`),
          );
        }
        return;
      }
      await this.clock.sleep(backoffDelay(attempt, 1_000, 50), run.opts.signal);
    }
  }

  private record(
    run: ApplyRun,
    item: Item,
    action: ApplyAction,
    live: KubeObject,
    drift?: DriftReport,
  ): void {
    const prior = run.results.get(item.key);
    run.results.set(item.key, {
      ref: item.ref,
      action,
      hash: item.hash,
      resourceVersion: live.metadata.resourceVersion,
      drift: drift ?? prior?.drift,
      live,
    });
  }

  private finish(
    run: ApplyRun,
    items: readonly Item[],
    failedPhase?: ApplyResult['failedPhase'],
  ): ApplyResult {
    const objects = sortForApply(
      items.flatMap((i) => {
        const r = run.results.get(i.key);
        return r ? [r] : [];
      }),
      (r) => r.ref,
    );
    const counts = { created: 0, configured: 0, unchanged: 0, recreated: 0 };
    for (const o of objects) {
      counts[o.action]++;
    }
    const ok = run.errors.length === 0 && failedPhase === undefined;
    return {
      ok,
      objects,
      errors: run.errors,
      failedPhase: ok ? undefined : (failedPhase ?? 'apply'),
      clusterError: run.clusterError,
      drift: objects.flatMap((o) => (o.drift ? [o.drift] : [])),
      counts,
    };
  }
}

/** `group/Kind` a CRD object defines. */
function crdServedKinds(crd: KubeObject): string[] {
  const spec = (crd.spec ?? {}) as { group?: unknown; names?: { kind?: unknown } };
  return typeof spec.group === 'string' && typeof spec.names?.kind === 'string'
    ? [`${spec.group}/${spec.names.kind}`]
    : [];
}

/** apiVersions (`group/version`) a CRD object serves. */
function crdVersions(crd: KubeObject): string[] {
  const spec = (crd.spec ?? {}) as { group?: unknown; versions?: unknown };
  if (typeof spec.group !== 'string' || !Array.isArray(spec.versions)) {
    return [];
  }
  const group = spec.group;
  return spec.versions.flatMap((v: unknown) => {
    const name = (v as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? [`${group}/${name}`] : [];
  });
}
