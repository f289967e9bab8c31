import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import {
  applyDefaults,
  generationChanged,
  validateKind,
  validateMeta,
  validateName,
} from 'test/support/kube-sim/builtins';
import {
  crdResourceTypes,
  pruneAndDefault,
  validateAgainstSchema,
  validateCrd,
} from 'test/support/kube-sim/crd';
import type { FieldError } from 'test/support/kube-sim/errors';
import { ApiError, Errors, FieldErrors, qualifiedResource } from 'test/support/kube-sim/errors';
import {
  appliedSet,
  compare,
  flatten,
  mergeApplied,
  removePaths,
  renderPath,
} from 'test/support/kube-sim/fieldset';
import type { Manager } from 'test/support/kube-sim/managed-fields';
import {
  decodeManagers,
  encodeManagers,
  recordUpdate,
  sameIdentity,
} from 'test/support/kube-sim/managed-fields';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
} from 'test/support/kube-sim/patch';
import type { RbacSource, UserInfo } from 'test/support/kube-sim/rbac';
import { AGGREGATION_MANAGER, staleAggregations } from 'test/support/kube-sim/rbac-aggregation';
import { bootstrapRbac } from 'test/support/kube-sim/rbac';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { apiVersionOf, BUILTIN_TYPES, typeKey } from 'test/support/kube-sim/schema';
import type { FieldRequirement, LabelSelector } from 'test/support/kube-sim/selectors';
import { matchFields, matchLabels } from 'test/support/kube-sim/selectors';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import {
  clone,
  deepEqual,
  ensureDict,
  getPath,
  isDict,
  nowRfc3339,
} from 'test/support/kube-sim/types';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  rv: number;
  key: string;
  type: WatchEventType;
  obj: KubeObject;
  prev?: KubeObject;
}

export interface WatchFilter {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
}

interface Watcher {
  key: string;
  rt: ResourceType;
  filter: WatchFilter;
  send(type: WatchEventType, obj: KubeObject): void;
}

export type ObjectConverter = (obj: KubeObject, toApiVersion: string) => KubeObject;

const converters = new Map<string, ObjectConverter>();

/** Registers a conversion function for a multi-version CRD (by CRD name). */
export function registerConverter(crdName: string, fn: ObjectConverter): void {
  converters.set(crdName, fn);
}

export interface EngineOptions {
  /** Watch history window (events kept per cluster). */
  historySize: number;
  /** Delay before a new CRD is Established and served. */
  crdEstablishDelayMs: number;
}

export interface WriteContext {
  user: UserInfo;
  userAgent: string;
  fieldManager?: string;
  dryRun: boolean;
  fieldValidation?: string;
  warnings: string[];
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

export interface WriteHooks {
  afterWrite(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void;
  afterDelete(rt: ResourceType, obj: KubeObject): void;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function nsName(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

/** State and semantics of one virtual cluster (storage, admission, SSA, watch fan-out). */
export class ClusterEngine implements RbacSource {
  private rv = 0;
  private compactedRv = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly crdTypes = new Map<string, ResourceType>();
  private ipCounter = 10;
  private readonly timers = new Set<NodeJS.Timeout>();
  hooks: WriteHooks[] = [];
  private discoveryVersion = 0;
  private aggregation: 'idle' | 'running' | 'again' | 'off' = 'off';

  constructor(
    readonly options: EngineOptions,
    private readonly caPem: string,
  ) {
    this.bootstrap();
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get discoveryGeneration(): number {
    return this.discoveryVersion;
  }

  // ---------------------------------------------------------------- type registry

  allTypes(): ResourceType[] {
    return [...BUILTIN_TYPES, ...this.crdTypes.values()];
  }

  resolve(group: string, version: string, plural: string): ResourceType | undefined {
    if (group === '' || !group.includes('.') || group.endsWith('.k8s.io')) {
      const b = BUILTIN_TYPES.find(
        (t) => t.group === group && t.version === version && t.plural === plural,
      );
      if (b) {
        return b;
      }
    }
    return this.crdTypes.get(`${group}/${version}/${plural}`);
  }

  resolveKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return this.allTypes().find(
      (t) => t.group === group && t.version === version && t.kind === kind,
    );
  }

  // ---------------------------------------------------------------- storage primitives

  private bucket(rt: { group: string; plural: string }): Map<string, KubeObject> {
    const k = typeKey(rt.group, rt.plural);
    let b = this.objects.get(k);
    if (!b) {
      b = new Map();
      this.objects.set(k, b);
    }
    return b;
  }

  list(group: string, plural: string): Iterable<KubeObject> {
    return this.objects.get(typeKey(group, plural))?.values() ?? [];
  }

  getObject(group: string, plural: string, ns: string, name: string): KubeObject | undefined {
    return this.objects.get(typeKey(group, plural))?.get(nsName(ns, name));
  }

  private emit(rt: ResourceType, type: WatchEventType, obj: KubeObject, prev?: KubeObject): void {
    const key = typeKey(rt.group, rt.plural);
    const ev: HistoryEvent = { rv: this.rv, key, type, obj, prev };
    this.history.push(ev);
    if (this.history.length > this.options.historySize * 2) {
      const drop = this.history.length - this.options.historySize;
      this.compactedRv = this.history[drop - 1].rv;
      this.history = this.history.slice(drop);
    }
    for (const w of this.watchers) {
      if (w.key === key) {
        this.deliver(w, ev);
      }
    }
  }

  private matches(w: { filter: WatchFilter }, obj: KubeObject | undefined): boolean {
    if (!obj) {
      return false;
    }
    const f = w.filter;
    return (
      (f.namespace === undefined || obj.metadata.namespace === f.namespace) &&
      matchLabels(f.labels, obj.metadata.labels) &&
      matchFields(f.fields, obj)
    );
  }

  private deliver(w: Watcher, ev: HistoryEvent): void {
    const now = this.matches(w, ev.obj);
    const before = ev.type === 'MODIFIED' ? this.matches(w, ev.prev) : now;
    if (ev.type === 'MODIFIED' && now !== before) {
      // An object entering or leaving the selector is ADDED / DELETED for this watcher.
      w.send(now ? 'ADDED' : 'DELETED', this.toVersion(w.rt, ev.obj));
    } else if (now) {
      w.send(ev.type, this.toVersion(w.rt, ev.obj));
    }
  }

  private persist(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): KubeObject {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    this.bucket(rt).set(nsName(obj.metadata.namespace, obj.metadata.name ?? ''), obj);
    this.emit(rt, old ? 'MODIFIED' : 'ADDED', clone(obj), old);
    for (const h of this.hooks) {
      h.afterWrite(rt, obj, old);
    }
    this.onStoredWrite(rt, obj, old);
    return obj;
  }

  private remove(rt: ResourceType, obj: KubeObject): KubeObject {
    this.rv += 1;
    const gone = clone(obj);
    gone.metadata.resourceVersion = String(this.rv);
    this.bucket(rt).delete(nsName(obj.metadata.namespace, obj.metadata.name ?? ''));
    this.emit(rt, 'DELETED', gone);
    for (const h of this.hooks) {
      h.afterDelete(rt, gone);
    }
    this.onStoredDelete(rt, gone);
    return gone;
  }

  /** Drops the watch history so that any older resourceVersion gets 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  schedule(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  dispose(): void {
    for (const t of this.timers) {
      clearTimeout(t);
    }
    this.timers.clear();
    this.watchers.clear();
  }

  // ---------------------------------------------------------------- version conversion

  toVersion(rt: ResourceType, stored: KubeObject): KubeObject {
    const av = apiVersionOf(rt);
    const out = clone(stored);
    if (out.apiVersion !== av && rt.crd) {
      const conv = converters.get(rt.crd.crdName);
      const converted = conv ? conv(out, av) : out;
      converted.apiVersion = av;
      return converted;
    }
    out.apiVersion = av;
    out.kind = rt.kind;
    return out;
  }

  private storageType(rt: ResourceType): ResourceType {
    if (!rt.crd || rt.crd.storageVersion === rt.version) {
      return rt;
    }
    return (
      this.crdTypes.get(`${rt.group}/${rt.crd.storageVersion}/${rt.plural}`) ?? {
        ...rt,
        version: rt.crd.storageVersion,
      }
    );
  }

  private toStorage(rt: ResourceType, obj: KubeObject): KubeObject {
    return this.toVersion(this.storageType(rt), obj);
  }

  // ---------------------------------------------------------------- reads

  get(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const stored = this.bucket(rt).get(nsName(ns, name));
    if (!stored) {
      throw Errors.notFound(rt, name);
    }
    return this.toVersion(rt, stored);
  }

  find(rt: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const stored = this.bucket(rt).get(nsName(ns, name));
    return stored ? this.toVersion(rt, stored) : undefined;
  }

  select(rt: ResourceType, filter: WatchFilter): KubeObject[] {
    const out: KubeObject[] = [];
    const keys = [...this.bucket(rt).keys()].sort();
    for (const k of keys) {
      const o = this.bucket(rt).get(k) as KubeObject;
      if (this.matches({ filter }, o)) {
        out.push(o);
      }
    }
    return out;
  }

  listObjects(rt: ResourceType, filter: WatchFilter): KubeObject[] {
    return this.select(rt, filter).map((o) => this.toVersion(rt, o));
  }

  oldestResourceVersion(): number {
    return this.compactedRv;
  }

  /**
   * Starts a watch. Returns a stop function, or throws 410 when `fromRv` is outside the history
   * window (the HTTP layer turns that into an ERROR event in a 200 stream).
   */
  watch(
    rt: ResourceType,
    filter: WatchFilter,
    fromRv: number | undefined,
    send: (type: WatchEventType, obj: KubeObject) => void,
  ): () => void {
    const key = typeKey(rt.group, rt.plural);
    const w: Watcher = { key, rt, filter, send };
    if (fromRv === undefined) {
      for (const o of this.select(rt, filter)) {
        send('ADDED', this.toVersion(rt, o));
      }
    } else {
      if (fromRv < this.compactedRv) {
        throw Errors.expired(`too old resource version: ${fromRv} (${this.compactedRv + 1})`);
      }
      for (const ev of this.history) {
        if (ev.rv > fromRv && ev.key === key) {
          this.deliver(w, ev);
        }
      }
    }
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  // ---------------------------------------------------------------- namespaces

  private namespaceCheck(rt: ResourceType, ns: string | undefined, create: boolean): void {
    if (!rt.namespaced || !ns) {
      return;
    }
    const nsObj = this.getObject('', 'namespaces', '', ns);
    if (!nsObj) {
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, {
        name: ns,
        kind: 'namespaces',
      });
    }
    if (create && nsObj.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${qualifiedResource(rt)} "${''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          group: rt.group,
          kind: rt.plural,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${ns} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  // ---------------------------------------------------------------- writes

  private managerName(ctx: WriteContext): string {
    return ctx.fieldManager ?? (ctx.userAgent.split('/')[0] || 'unknown');
  }

  /** Validation, defaulting, pruning and generation shared by every write path. */
  private admit(
    rt: ResourceType,
    ctx: WriteContext,
    next: KubeObject,
    old: KubeObject | undefined,
  ): void {
    if (rt.crd) {
      const pruned = pruneAndDefault(rt.crd.schemas[rt.version], next);
      if (pruned.length) {
        const msgs = pruned.map((p) => `unknown field "${p}"`);
        if (ctx.fieldValidation === 'Strict') {
          throw Errors.badRequest(
            pruned.length === 1
              ? `.${pruned[0]}: field not declared in schema`
              : `strict decoding error: ${msgs.join(', ')}`,
          );
        }
        if (ctx.fieldValidation !== 'Ignore') {
          ctx.warnings.push(...msgs);
        }
      }
    } else {
      applyDefaults(rt, next, { allocateClusterIP: () => this.allocateIP() });
    }
    const errs: FieldError[] = [];
    if (!old) {
      errs.push(...validateName(rt.nameRule, next.metadata.name ?? ''));
    }
    errs.push(...validateMeta(rt, next));
    if (rt.crd) {
      errs.push(...validateAgainstSchema(rt.crd.schemas[rt.version], next));
    } else {
      errs.push(...validateKind(rt, next, old));
    }
    if (rt.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io') {
      errs.push(...validateCrd(next));
    }
    if (old?.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter(
        (f) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length) {
        errs.push(
          FieldErrors.forbidden(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => `"${f}"`).join(', ')}}`,
          ),
        );
      }
    }
    if (errs.length) {
      throw Errors.invalid(rt.kind, rt.group, next.metadata.name ?? '', errs);
    }
    if (rt.generation !== 'none') {
      if (!old) {
        next.metadata.generation = 1;
      } else {
        const g = old.metadata.generation ?? 1;
        next.metadata.generation = generationChanged(rt, old, next) ? g + 1 : g;
      }
    } else {
      delete next.metadata.generation;
    }
  }

  private allocateIP(): string {
    this.ipCounter += 1;
    return `10.96.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter % 250) + 1}`;
  }

  private generateName(rt: ResourceType, ns: string | undefined, prefix: string): string {
    const base = prefix.slice(0, 58);
    for (let i = 0; i < 8; i++) {
      let s = '';
      for (let j = 0; j < 5; j++) {
        s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
      }
      if (!this.bucket(rt).has(nsName(ns, base + s))) {
        return base + s;
      }
    }
    throw Errors.alreadyExists(rt, base, true);
  }

  private checkBodyIdentity(
    rt: ResourceType,
    body: KubeObject,
    ns: string | undefined,
    name?: string,
  ): void {
    if (rt.namespaced) {
      if (body.metadata.namespace && ns && body.metadata.namespace !== ns) {
        throw Errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      body.metadata.namespace = ns;
    } else {
      delete body.metadata.namespace;
    }
    if (name !== undefined && body.metadata.name && body.metadata.name !== name) {
      throw Errors.badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
  }

  private checkKind(rt: ResourceType, body: KubeObject): void {
    if (
      body.kind !== undefined &&
      body.kind !== '' &&
      (body.kind !== rt.kind || (body.apiVersion && body.apiVersion !== apiVersionOf(rt)))
    ) {
      throw Errors.badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersionOf(rt)})`,
      );
    }
  }

  /** Finalises a write: no-op detection, persistence, finalizer-completed deletion. */
  private commit(
    rt: ResourceType,
    ctx: WriteContext,
    next: KubeObject,
    oldReq: KubeObject | undefined,
  ): KubeObject {
    if (oldReq && deepEqual(oldReq, next)) {
      return oldReq;
    }
    const storedNext = this.toStorage(rt, next);
    if (ctx.dryRun) {
      if (!oldReq) {
        delete next.metadata.resourceVersion;
      }
      return next;
    }
    const oldStored = oldReq
      ? this.bucket(rt).get(nsName(oldReq.metadata.namespace, oldReq.metadata.name ?? ''))
      : undefined;
    if (
      oldStored?.metadata.deletionTimestamp &&
      (storedNext.metadata.finalizers ?? []).length === 0 &&
      rt.kind !== 'Namespace'
    ) {
      return this.toVersion(rt, this.remove(rt, storedNext));
    }
    return this.toVersion(rt, this.persist(rt, storedNext, oldStored));
  }

  create(
    rt: ResourceType,
    ctx: WriteContext,
    ns: string | undefined,
    input: KubeObject,
  ): KubeObject {
    const body = clone(input);
    body.metadata ??= {};
    this.checkKind(rt, body);
    this.checkBodyIdentity(rt, body, ns);
    this.namespaceCheck(rt, ns, true);
    if (body.metadata.resourceVersion) {
      throw new ApiError(
        500,
        undefined,
        'resourceVersion should not be set on objects to be created',
      );
    }
    if (!body.metadata.name) {
      if (body.metadata.generateName) {
        body.metadata.name = this.generateName(rt, ns, body.metadata.generateName);
      } else {
        throw Errors.invalid(rt.kind, rt.group, '', [
          FieldErrors.required('metadata.name', 'name or generateName is required'),
        ]);
      }
    }
    const name = body.metadata.name;
    if (this.bucket(rt).has(nsName(ns, name))) {
      throw Errors.alreadyExists(rt, name);
    }
    body.apiVersion = apiVersionOf(rt);
    body.kind = rt.kind;
    body.metadata.uid = randomUUID();
    body.metadata.creationTimestamp = nowRfc3339();
    delete body.metadata.deletionTimestamp;
    delete body.metadata.deletionGracePeriodSeconds;
    if (rt.status && rt.kind !== 'Namespace') {
      delete body.status;
    }
    const managers = body.metadata.managedFields;
    delete body.metadata.managedFields;
    this.admit(rt, ctx, body, undefined);
    if (managers === undefined || managers.length === 0) {
      const cmp = compare(new Map(), flatten(rt, body));
      const ms = recordUpdate(
        [],
        cmp,
        { manager: this.managerName(ctx), operation: 'Update', apiVersion: apiVersionOf(rt) },
        nowRfc3339(),
      );
      body.metadata.managedFields = encodeManagers(ms);
    } else {
      body.metadata.managedFields = managers;
    }
    return this.commit(rt, ctx, body, undefined);
  }

  private preserveMeta(old: KubeObject, next: KubeObject, rt: ResourceType): void {
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const m = next.metadata;
    if (m.uid && m.uid !== old.metadata.uid) {
      throw Errors.conflict(
        rt,
        old.metadata.name ?? '',
        `Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${String(old.metadata.uid)}`,
      );
    }
    for (const k of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'name',
      'namespace',
    ] as const) {
      if (old.metadata[k] === undefined) {
        delete m[k];
      } else {
        (m as Record<string, unknown>)[k] = old.metadata[k];
      }
    }
    delete m.generateName;
    if (old.metadata.generateName) {
      m.generateName = old.metadata.generateName;
    }
  }

  private checkRv(rt: ResourceType, old: KubeObject, next: KubeObject, required: boolean): void {
    const rv = next.metadata.resourceVersion;
    if (rv) {
      if (rv !== old.metadata.resourceVersion) {
        throw Errors.conflict(rt, old.metadata.name ?? '');
      }
    } else if (required && rt.crd) {
      throw Errors.invalid(rt.kind, rt.group, old.metadata.name ?? '', [
        FieldErrors.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
      ]);
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
  }

  /** Applies subresource reset rules: main endpoint keeps stored status, /status keeps everything else. */
  private resetFields(
    rt: ResourceType,
    old: KubeObject,
    next: KubeObject,
    subresource: string | undefined,
  ): KubeObject {
    if (subresource === 'status') {
      const out = clone(old);
      if (next.status === undefined) {
        delete out.status;
      } else {
        out.status = next.status;
      }
      out.metadata.resourceVersion = next.metadata.resourceVersion;
      if (next.metadata.managedFields !== undefined) {
        out.metadata.managedFields = next.metadata.managedFields;
      }
      return out;
    }
    if (rt.status) {
      if (old.status === undefined) {
        delete next.status;
      } else {
        next.status = clone(old.status);
      }
    }
    return next;
  }

  update(
    rt: ResourceType,
    ctx: WriteContext,
    ns: string | undefined,
    name: string,
    input: KubeObject,
    subresource?: string,
  ): KubeObject {
    const body = clone(input);
    body.metadata ??= {};
    this.checkKind(rt, body);
    this.checkBodyIdentity(rt, body, ns, name);
    this.namespaceCheck(rt, ns, false);
    const old = this.get(rt, ns, name);
    this.checkRv(rt, old, body, true);
    return this.finishUpdate(rt, ctx, old, body, subresource);
  }

  private finishUpdate(
    rt: ResourceType,
    ctx: WriteContext,
    old: KubeObject,
    input: KubeObject,
    subresource?: string,
  ): KubeObject {
    const body = clone(input);
    this.preserveMeta(old, body, rt);
    const next = this.resetFields(rt, old, body, subresource);
    const sentManagers = next.metadata.managedFields;
    next.metadata.managedFields = old.metadata.managedFields;
    this.admit(rt, ctx, next, old);
    let base: Manager[] = decodeManagers(old.metadata.managedFields);
    if (sentManagers !== undefined && !deepEqual(sentManagers, old.metadata.managedFields)) {
      base = decodeManagers(sentManagers.filter((e) => isDict(e) && Object.keys(e).length > 0));
    }
    const cmp = compare(flatten(rt, old), flatten(rt, next));
    const ms = recordUpdate(
      base,
      cmp,
      {
        manager: this.managerName(ctx),
        operation: 'Update',
        apiVersion: apiVersionOf(rt),
        subresource,
      },
      nowRfc3339(),
    );
    next.metadata.managedFields = encodeManagers(ms);
    if (next.metadata.managedFields.length === 0) {
      delete next.metadata.managedFields;
    }
    return this.commit(rt, ctx, next, old);
  }

  patch(
    rt: ResourceType,
    ctx: WriteContext,
    ns: string | undefined,
    name: string,
    type: PatchType,
    raw: string,
    subresource?: string,
    force?: boolean,
  ): { obj: KubeObject; created: boolean } {
    if (type === 'apply') {
      return this.apply(rt, ctx, ns, name, raw, subresource, force ?? false);
    }
    let patchBody: unknown;
    try {
      patchBody = JSON.parse(raw) as unknown;
    } catch (e) {
      throw Errors.badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    this.namespaceCheck(rt, ns, false);
    const old = this.get(rt, ns, name);
    let next: KubeObject;
    switch (type) {
      case 'json':
        next = applyJsonPatch(old, patchBody) as KubeObject;
        break;
      case 'merge':
        if (!isDict(patchBody)) {
          throw Errors.badRequest(
            'json: cannot unmarshal array into Go value of type map[string]interface {}',
          );
        }
        next = applyMergePatch(old, patchBody) as KubeObject;
        break;
      case 'strategic':
        if (!isDict(patchBody)) {
          throw Errors.badRequest(
            'json: cannot unmarshal array into Go value of type map[string]interface {}',
          );
        }
        next = applyStrategicMergePatch(old, patchBody) as KubeObject;
        break;
    }
    if (!isDict(next.metadata)) {
      next.metadata = {};
    }
    this.checkBodyIdentity(rt, next, ns, name);
    this.checkRv(rt, old, next, false);
    return { obj: this.finishUpdate(rt, ctx, old, next, subresource), created: false };
  }

  apply(
    rt: ResourceType,
    ctx: WriteContext,
    ns: string | undefined,
    name: string,
    raw: string,
    subresource: string | undefined,
    force: boolean,
  ): { obj: KubeObject; created: boolean } {
    let parsed: unknown;
    try {
      parsed = parseApplyBody(raw);
    } catch (e) {
      throw Errors.badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isDict(parsed)) {
      throw Errors.badRequest('error decoding YAML: object expected');
    }
    const applied = parsed as KubeObject;
    if (applied.apiVersion !== apiVersionOf(rt) || applied.kind !== rt.kind) {
      throw Errors.badRequest(
        `invalid object type: ${rt.group}/${rt.version}, Kind=${String(applied.kind ?? '')}`,
      );
    }
    applied.metadata ??= {};
    if (!isDict(applied.metadata)) {
      throw Errors.badRequest('error decoding YAML: metadata must be an object');
    }
    if (applied.metadata.managedFields !== undefined) {
      throw Errors.badRequest('metadata.managedFields must be nil');
    }
    this.checkBodyIdentity(rt, applied, ns, name);
    applied.metadata.name = name;
    const manager = ctx.fieldManager as string;
    let old = this.find(rt, ns, name);
    const created = !old;
    if (!old) {
      this.namespaceCheck(rt, ns, true);
      old = {
        apiVersion: apiVersionOf(rt),
        kind: rt.kind,
        metadata: { name, namespace: rt.namespaced ? ns : undefined },
      };
      if (!rt.namespaced) {
        delete old.metadata.namespace;
      }
    }
    // Unknown fields in a custom resource configuration are a 500 like the real typed-patch failure.
    if (rt.crd) {
      const probe = clone(applied);
      const pruned = pruneAndDefault(rt.crd.schemas[rt.version], probe).filter(
        (p) => !p.startsWith('metadata.'),
      );
      if (pruned.length) {
        throw new ApiError(
          500,
          undefined,
          `failed to create typed patch object (${ns ? `${ns}/` : '/'}${name}; ${rt.group}/${rt.version}, Kind=${rt.kind}): .${pruned[0]}: field not declared in schema`,
        );
      }
    }
    // Reset fields are not owned through this endpoint.
    const cfg: KubeObject = clone(applied);
    if (subresource === 'status') {
      for (const k of Object.keys(cfg)) {
        if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata' && k !== 'status') {
          delete cfg[k];
        }
      }
      cfg.metadata = { name };
    } else if (rt.status) {
      delete cfg.status;
    }
    const sA = appliedSet(flatten(rt, cfg, true));
    const managers = decodeManagers(old.metadata.managedFields);
    const who = { manager, operation: 'Apply' as const, apiVersion: apiVersionOf(rt), subresource };
    const mine = managers.find((m) => sameIdentity(m, who));
    const others = managers.filter((m) => m !== mine);
    let next = mergeApplied(rt, clone(old), cfg) as KubeObject;
    if (mine) {
      const ownedByOthers = new Set<string>();
      for (const o of others) {
        for (const p of o.set) {
          ownedByOthers.add(p);
        }
      }
      const drop = [...mine.set].filter((p) => !sA.has(p) && !ownedByOthers.has(p));
      removePaths(rt, next, drop);
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (created) {
      delete next.metadata.resourceVersion;
    }
    // Defaulting happens before comparison, so defaulted fields are not seen as changes.
    const rvInBody = applied.metadata.resourceVersion;
    if (created) {
      next.metadata.uid = randomUUID();
      next.metadata.creationTimestamp = nowRfc3339();
      if (rt.status) {
        delete next.status;
      }
    } else {
      if (rvInBody && rvInBody !== old.metadata.resourceVersion) {
        throw Errors.conflict(rt, name);
      }
      this.preserveMeta(old, next, rt);
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      next = this.resetFields(rt, old, next, subresource);
    }
    next.metadata.managedFields = old.metadata.managedFields;
    this.admit(rt, ctx, next, created ? undefined : old);
    const cmp = compare(flatten(rt, created ? { metadata: {} } : old), flatten(rt, next));
    const changedPaths = new Set<string>([...cmp.added, ...cmp.modified]);
    const conflicts: { m: Manager; paths: string[] }[] = [];
    for (const o of others) {
      const c = [...o.set].filter((p) => changedPaths.has(p));
      if (c.length) {
        conflicts.push({ m: o, paths: c });
      }
    }
    if (conflicts.length && !force) {
      throw conflictError(conflicts);
    }
    for (const { m, paths } of conflicts) {
      for (const p of paths) {
        m.set.delete(p);
      }
    }
    for (const o of others) {
      for (const p of cmp.removed) {
        o.set.delete(p);
      }
    }
    const contentChanged = cmp.added.size + cmp.modified.size + cmp.removed.size > 0;
    const now = nowRfc3339();
    const newMine: Manager = {
      ...who,
      time: mine && !contentChanged ? mine.time : now,
      set: sA,
    };
    next.metadata.managedFields = encodeManagers([...others, newMine]);
    if (created) {
      return { obj: this.commit(rt, ctx, next, undefined), created: true };
    }
    return { obj: this.commit(rt, ctx, next, old), created: false };
  }

  delete(
    rt: ResourceType,
    ctx: WriteContext,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions,
  ): { obj: KubeObject; deleted: boolean } {
    const stored = this.bucket(rt).get(nsName(ns, name));
    if (!stored) {
      throw Errors.notFound(rt, name);
    }
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== stored.metadata.uid) {
      throw Errors.conflict(
        rt,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(stored.metadata.uid)}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== stored.metadata.resourceVersion) {
      throw Errors.conflict(
        rt,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(stored.metadata.resourceVersion)}`,
      );
    }
    let policy = opts.propagationPolicy;
    if (policy === undefined && rt.defaultPropagation === 'Orphan') {
      policy = 'Orphan';
      if (rt.kind === 'Job') {
        ctx.warnings.push(
          'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning',
        );
      }
    }
    if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw Errors.invalid('DeleteOptions', 'meta.k8s.io', '', [
        FieldErrors.notSupported('propagationPolicy', policy, [
          'Foreground',
          'Background',
          'Orphan',
        ]),
      ]);
    }
    const next = clone(stored);
    const fins = [...(next.metadata.finalizers ?? [])];
    if (!next.metadata.deletionTimestamp) {
      if (policy === 'Foreground' && !fins.includes('foregroundDeletion')) {
        fins.push('foregroundDeletion');
      }
      if (policy === 'Orphan' && !fins.includes('orphan')) {
        fins.push('orphan');
      }
    }
    if (rt.kind === 'Namespace') {
      if (stored.metadata.deletionTimestamp) {
        return { obj: this.toVersion(rt, stored), deleted: false };
      }
      next.metadata.deletionTimestamp = nowRfc3339();
      next.metadata.deletionGracePeriodSeconds = 0;
      ensureDict(next, 'status').phase = 'Terminating';
      if (opts.dryRun) {
        return { obj: this.toVersion(rt, next), deleted: false };
      }
      this.persist(rt, next, stored);
      this.schedule(0, () => this.namespaceController(name));
      return { obj: this.toVersion(rt, next), deleted: false };
    }
    if (
      rt.kind === 'CustomResourceDefinition' &&
      !fins.includes('customresourcecleanup.apiextensions.k8s.io') &&
      !stored.metadata.deletionTimestamp
    ) {
      fins.push('customresourcecleanup.apiextensions.k8s.io');
    }
    if (fins.length > 0) {
      if (stored.metadata.deletionTimestamp) {
        return { obj: this.toVersion(rt, stored), deleted: false };
      }
      next.metadata.finalizers = fins;
      next.metadata.deletionTimestamp = nowRfc3339();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (opts.dryRun) {
        return { obj: this.toVersion(rt, next), deleted: false };
      }
      this.persist(rt, next, stored);
      this.schedule(0, () => this.garbageCollect(rt, name, ns));
      return { obj: this.toVersion(rt, next), deleted: false };
    }
    if (opts.dryRun) {
      return { obj: this.toVersion(rt, stored), deleted: true };
    }
    const gone = this.remove(rt, stored);
    return { obj: this.toVersion(rt, gone), deleted: true };
  }

  /** Internal (controller) update of an object's finalizers / status, bypassing admission. */
  private internalUpdate(
    rt: ResourceType,
    stored: KubeObject,
    mutate: (o: KubeObject) => void,
  ): void {
    const next = clone(stored);
    mutate(next);
    if (deepEqual(next, stored)) {
      return;
    }
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      rt.kind !== 'Namespace'
    ) {
      this.remove(rt, next);
    } else {
      this.persist(rt, next, stored);
    }
  }

  /** Writes a controller status update through the status subresource (records managedFields). */
  controllerStatus(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    manager: string,
    status: Dict,
  ): void {
    const stored = this.bucket(rt).get(nsName(ns, name));
    if (!stored) {
      return;
    }
    const ctx: WriteContext = {
      user: { username: 'system:kube-controller-manager', groups: ['system:masters'] },
      userAgent: manager,
      fieldManager: manager,
      dryRun: false,
      warnings: [],
    };
    const cur = this.toVersion(rt, stored);
    const body = clone(cur);
    body.status = status;
    try {
      this.finishUpdate(rt, ctx, cur, body, rt.status ? 'status' : undefined);
    } catch {
      // A concurrent delete or validation failure simply ends this simulated step.
    }
  }

  private dependents(ownerUid: string): { rt: ResourceType; obj: KubeObject }[] {
    const out: { rt: ResourceType; obj: KubeObject }[] = [];
    for (const rt of this.allTypes()) {
      if (rt.crd && rt.crd.storageVersion !== rt.version) {
        continue;
      }
      for (const o of this.list(rt.group, rt.plural)) {
        if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid)) {
          out.push({ rt, obj: o });
        }
      }
    }
    return out;
  }

  private systemCtx(): WriteContext {
    return {
      user: { username: 'system:kube-controller-manager', groups: ['system:masters'] },
      userAgent: 'kube-controller-manager',
      dryRun: false,
      warnings: [],
    };
  }

  /** Asynchronous garbage collector for propagation finalizers. */
  private garbageCollect(rt: ResourceType, name: string, ns: string | undefined): void {
    const stored = this.bucket(rt).get(nsName(ns, name));
    if (!stored?.metadata.deletionTimestamp) {
      return;
    }
    const uid = stored.metadata.uid ?? '';
    const fins = stored.metadata.finalizers ?? [];
    if (fins.includes('orphan')) {
      for (const d of this.dependents(uid)) {
        this.internalUpdate(d.rt, d.obj, (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter(
            (r) => r.uid !== uid,
          );
          if (o.metadata.ownerReferences.length === 0) {
            delete o.metadata.ownerReferences;
          }
        });
      }
      this.internalUpdate(rt, stored, (o) => {
        o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== 'orphan');
      });
    } else if (fins.includes('foregroundDeletion')) {
      const deps = this.dependents(uid);
      for (const d of deps) {
        if (!d.obj.metadata.deletionTimestamp) {
          this.delete(d.rt, this.systemCtx(), d.obj.metadata.namespace, d.obj.metadata.name ?? '', {
            dryRun: false,
            propagationPolicy: 'Background',
          });
        }
      }
      if (this.dependents(uid).length === 0) {
        this.internalUpdate(rt, stored, (o) => {
          o.metadata.finalizers = (o.metadata.finalizers ?? []).filter(
            (f) => f !== 'foregroundDeletion',
          );
        });
      }
    } else if (fins.includes('customresourcecleanup.apiextensions.k8s.io')) {
      this.crdCleanup(stored);
    }
  }

  private onStoredDelete(rt: ResourceType, gone: KubeObject): void {
    const uid = gone.metadata.uid ?? '';
    // Background propagation: dependents go after their owner.
    this.schedule(0, () => {
      for (const d of this.dependents(uid)) {
        if (!d.obj.metadata.deletionTimestamp) {
          try {
            this.delete(
              d.rt,
              this.systemCtx(),
              d.obj.metadata.namespace,
              d.obj.metadata.name ?? '',
              { dryRun: false, propagationPolicy: 'Background' },
            );
          } catch {
            // already gone
          }
        }
      }
      // Owners waiting in foreground deletion re-check their dependents.
      for (const r of gone.metadata.ownerReferences ?? []) {
        this.recheckForegroundOwner(r.uid);
      }
    });
    const ns = gone.metadata.namespace;
    if (ns) {
      const nsObj = this.getObject('', 'namespaces', '', ns);
      if (nsObj?.metadata.deletionTimestamp) {
        this.schedule(0, () => this.namespaceController(ns));
      }
    }
    if (rt.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io') {
      this.unregisterCrd(gone);
    }
    if (rt.plural === 'clusterroles' && rt.group === 'rbac.authorization.k8s.io') {
      this.aggregateClusterRoles();
    }
    if (rt.kind === 'Namespace') {
      return;
    }
  }

  private recheckForegroundOwner(uid: string): void {
    for (const rt of this.allTypes()) {
      for (const o of this.list(rt.group, rt.plural)) {
        if (o.metadata.uid === uid && o.metadata.deletionTimestamp) {
          this.garbageCollect(rt, o.metadata.name ?? '', o.metadata.namespace);
          return;
        }
      }
    }
  }

  private onStoredWrite(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    if (rt.plural === 'clusterroles' && rt.group === 'rbac.authorization.k8s.io') {
      this.aggregateClusterRoles();
    }
    if (rt.kind === 'Namespace' && rt.group === '' && !old) {
      this.populateNamespace(obj.metadata.name ?? '');
    }
    if (rt.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io') {
      const needsEstablish = !old || !deepEqual(old.spec, obj.spec);
      if (needsEstablish && !obj.metadata.deletionTimestamp) {
        const name = obj.metadata.name ?? '';
        this.schedule(this.options.crdEstablishDelayMs, () => this.establishCrd(name));
      }
    }
  }

  // ---------------------------------------------------------------- bootstrap & controllers

  private rawCreate(rt: ResourceType, obj: KubeObject): void {
    const ctx: WriteContext = {
      user: { username: 'system:apiserver', groups: ['system:masters'] },
      userAgent: 'kube-apiserver',
      dryRun: false,
      warnings: [],
    };
    try {
      this.create(rt, ctx, obj.metadata.namespace, obj);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) {
        throw e;
      }
    }
  }

  private builtin(group: string, plural: string): ResourceType {
    return BUILTIN_TYPES.find((t) => t.group === group && t.plural === plural) as ResourceType;
  }

  private populateNamespace(ns: string): void {
    this.rawCreate(this.builtin('', 'serviceaccounts'), {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
    });
    this.rawCreate(this.builtin('', 'configmaps'), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'kube-root-ca.crt',
        namespace: ns,
        annotations: {
          'kubernetes.io/description':
            'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
        },
      },
      data: { 'ca.crt': this.caPem },
    });
  }

  private bootstrap(): void {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.rawCreate(this.builtin('', 'namespaces'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
    }
    for (const o of bootstrapRbac()) {
      this.rawCreate(
        this.builtin(
          'rbac.authorization.k8s.io',
          o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings',
        ),
        o,
      );
    }
    this.aggregation = 'idle';
    this.aggregateClusterRoles();
    this.rawCreate(this.builtin('', 'services'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
    });
    this.rawCreate(this.builtin('', 'nodes'), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'kube-sim-node-1',
        labels: { 'kubernetes.io/hostname': 'kube-sim-node-1', 'kubernetes.io/os': 'linux' },
      },
      spec: {},
    });
  }

  /**
   * The ClusterRole aggregation controller: any ClusterRole change re-syncs every aggregated role
   * (as the real controller enqueues them all), until nothing changes, so roles aggregated into an
   * aggregated role settle at any depth. Written by server-side apply with force, like the real one.
   * Runs in the writing request rather than a moment later, so authorization never sees a stale role.
   */
  private aggregateClusterRoles(): void {
    if (this.aggregation !== 'idle') {
      if (this.aggregation === 'running') {
        this.aggregation = 'again';
      }
      return;
    }
    const rt = this.builtin('rbac.authorization.k8s.io', 'clusterroles');
    const ctx: WriteContext = { ...this.systemCtx(), fieldManager: AGGREGATION_MANAGER };
    ctx.userAgent = AGGREGATION_MANAGER;
    try {
      // Bounded: a cycle of roles aggregating each other converges, the bound guards the rest.
      for (let pass = 0; pass < 32; pass++) {
        this.aggregation = 'running';
        for (const { name, rules } of staleAggregations([...this.list(rt.group, rt.plural)])) {
          const body = { apiVersion: apiVersionOf(rt), kind: rt.kind, metadata: { name }, rules };
          try {
            this.apply(rt, ctx, undefined, name, JSON.stringify(body), undefined, true);
          } catch {
            // Deleted meanwhile or invalid rules: the next change re-syncs it.
          }
        }
        if (this.aggregation === 'running') {
          break;
        }
      }
    } finally {
      this.aggregation = 'idle';
    }
  }

  private namespaceController(ns: string): void {
    const nsRt = this.builtin('', 'namespaces');
    const nsObj = this.getObject('', 'namespaces', '', ns);
    if (!nsObj?.metadata.deletionTimestamp) {
      return;
    }
    let remaining = 0;
    let withFinalizers = 0;
    for (const rt of this.allTypes()) {
      if (!rt.namespaced || rt.virtual || (rt.crd && rt.crd.storageVersion !== rt.version)) {
        continue;
      }
      for (const o of [...this.list(rt.group, rt.plural)]) {
        if (o.metadata.namespace !== ns) {
          continue;
        }
        remaining++;
        if (!o.metadata.deletionTimestamp) {
          this.delete(rt, this.systemCtx(), ns, o.metadata.name ?? '', {
            dryRun: false,
            propagationPolicy: 'Background',
          });
        }
        const still = this.bucket(rt).get(nsName(ns, o.metadata.name ?? ''));
        if (still) {
          withFinalizers++;
        } else {
          remaining--;
        }
      }
    }
    const now = nowRfc3339();
    const cond = (type: string, status: boolean, reason: string, message: string): Dict => ({
      type,
      status: status ? 'True' : 'False',
      lastTransitionTime: now,
      reason,
      message,
    });
    if (remaining > 0) {
      this.internalUpdate(nsRt, nsObj, (o) => {
        const st = ensureDict(o, 'status');
        const prev = Array.isArray(st.conditions) ? (st.conditions as Dict[]) : [];
        const want = [
          cond(
            'NamespaceDeletionDiscoveryFailure',
            false,
            'ResourcesDiscovered',
            'All resources successfully discovered',
          ),
          cond(
            'NamespaceDeletionGroupVersionParsingFailure',
            false,
            'ParsedGroupVersions',
            'All legacy kube types successfully parsed',
          ),
          cond(
            'NamespaceDeletionContentFailure',
            false,
            'ContentDeleted',
            'All content successfully deleted, may be waiting on finalization',
          ),
          cond(
            'NamespaceContentRemaining',
            true,
            'SomeResourcesRemain',
            `Some resources are remaining: ${remaining} objects remaining`,
          ),
          cond(
            'NamespaceFinalizersRemaining',
            withFinalizers > 0,
            withFinalizers > 0 ? 'SomeFinalizersRemain' : 'ContentHasNoFinalizers',
            withFinalizers > 0
              ? `Some content in the namespace has finalizers remaining: ${withFinalizers} objects`
              : 'All content-preserving finalizers finished',
          ),
        ];
        const same = want.every((w) =>
          prev.some((p) => p.type === w.type && p.status === w.status && p.message === w.message),
        );
        if (!same) {
          st.conditions = want;
        }
      });
      return;
    }
    this.internalUpdate(nsRt, nsObj, (o) => {
      const spec = ensureDict(o, 'spec');
      spec.finalizers = ((spec.finalizers as string[] | undefined) ?? []).filter(
        (f) => f !== 'kubernetes',
      );
    });
    const after = this.getObject('', 'namespaces', '', ns);
    if (
      after &&
      ((after.spec as Dict | undefined)?.finalizers as string[] | undefined)?.length === 0 &&
      (after.metadata.finalizers ?? []).length === 0
    ) {
      this.remove(nsRt, after);
    }
  }

  // ---------------------------------------------------------------- CRDs

  private establishCrd(name: string): void {
    const crdRt = this.builtin('apiextensions.k8s.io', 'customresourcedefinitions');
    const crd = this.getObject('apiextensions.k8s.io', 'customresourcedefinitions', '', name);
    if (!crd || crd.metadata.deletionTimestamp) {
      return;
    }
    const spec = crd.spec as Dict;
    const names = spec.names as Dict;
    const plural = String(names.plural);
    const conflict =
      BUILTIN_TYPES.some((t) => t.group === spec.group && t.plural === plural) ||
      [...this.list('apiextensions.k8s.io', 'customresourcedefinitions')].some(
        (o) =>
          o !== crd &&
          getPath(o, 'spec', 'group') === spec.group &&
          getPath(o, 'spec', 'names', 'plural') !== plural &&
          getPath(o, 'spec', 'names', 'kind') === names.kind,
      );
    const now = nowRfc3339();
    const types = crdResourceTypes(crd);
    for (const [k, t] of [...this.crdTypes]) {
      if (t.crd?.crdName === name) {
        this.crdTypes.delete(k);
      }
    }
    if (!conflict) {
      for (const t of types) {
        this.crdTypes.set(`${t.group}/${t.version}/${t.plural}`, t);
      }
    }
    this.discoveryVersion++;
    const storage = types[0]?.crd?.storageVersion;
    this.internalUpdate(crdRt, crd, (o) => {
      const st = ensureDict(o, 'status');
      const acc: Dict = {
        kind: names.kind,
        listKind: names.listKind ?? `${String(names.kind)}List`,
        plural,
        singular: names.singular ?? String(names.kind).toLowerCase(),
      };
      if (names.shortNames) {
        acc.shortNames = names.shortNames;
      }
      if (names.categories) {
        acc.categories = names.categories;
      }
      st.acceptedNames = acc;
      const stored = new Set<string>(
        Array.isArray(st.storedVersions) ? (st.storedVersions as string[]) : [],
      );
      if (storage) {
        stored.add(storage);
      }
      st.storedVersions = [...stored];
      const prev = Array.isArray(st.conditions) ? (st.conditions as Dict[]) : [];
      const keep = (type: string, status: string, reason: string, message: string): Dict => {
        const p = prev.find((c) => c.type === type);
        return {
          type,
          status,
          lastTransitionTime: p && p.status === status ? p.lastTransitionTime : now,
          reason,
          message,
        };
      };
      st.conditions = conflict
        ? [
            keep('NamesAccepted', 'False', 'PluralConflict', `"${plural}" is already in use`),
            keep('Established', 'False', 'NotAccepted', 'not all names are accepted'),
          ]
        : [
            keep('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
            keep(
              'Established',
              'True',
              'InitialNamesAccepted',
              'the initial names have been accepted',
            ),
          ];
    });
  }

  private crdCleanup(crd: KubeObject): void {
    const crdRt = this.builtin('apiextensions.k8s.io', 'customresourcedefinitions');
    const name = crd.metadata.name ?? '';
    const types = [...this.crdTypes.values()].filter((t) => t.crd?.crdName === name);
    const storageRt = types.find((t) => t.crd?.storageVersion === t.version) ?? types[0];
    let left = 0;
    if (storageRt) {
      for (const o of [...this.list(storageRt.group, storageRt.plural)]) {
        if (!o.metadata.deletionTimestamp) {
          this.delete(storageRt, this.systemCtx(), o.metadata.namespace, o.metadata.name ?? '', {
            dryRun: false,
            propagationPolicy: 'Background',
          });
        }
        if (this.bucket(storageRt).has(nsName(o.metadata.namespace, o.metadata.name ?? ''))) {
          left++;
        }
      }
    }
    if (left > 0) {
      this.schedule(50, () => {
        const cur = this.getObject('apiextensions.k8s.io', 'customresourcedefinitions', '', name);
        if (cur) {
          this.crdCleanup(cur);
        }
      });
      return;
    }
    const cur = this.getObject('apiextensions.k8s.io', 'customresourcedefinitions', '', name);
    if (cur) {
      this.internalUpdate(crdRt, cur, (o) => {
        o.metadata.finalizers = (o.metadata.finalizers ?? []).filter(
          (f) => f !== 'customresourcecleanup.apiextensions.k8s.io',
        );
      });
    }
  }

  private unregisterCrd(crd: KubeObject): void {
    for (const [k, t] of [...this.crdTypes]) {
      if (t.crd?.crdName === crd.metadata.name) {
        this.crdTypes.delete(k);
        this.objects.delete(typeKey(t.group, t.plural));
      }
    }
    this.discoveryVersion++;
  }
}

function renderManager(m: Manager): string {
  let s = `"${m.manager}"`;
  if (m.operation === 'Update') {
    s += ` using ${m.apiVersion}`;
  }
  if (m.subresource) {
    s += ` with subresource "${m.subresource}"`;
  }
  return s;
}

/** The exact 409 body of an SSA conflict. */
function conflictError(conflicts: { m: Manager; paths: string[] }[]): ApiError {
  const sorted = [...conflicts].sort((a, b) =>
    a.m.manager < b.m.manager ? -1 : a.m.manager > b.m.manager ? 1 : 0,
  );
  const causes: { reason: string; message: string; field: string }[] = [];
  let total = 0;
  for (const c of sorted) {
    for (const p of [...c.paths].sort()) {
      causes.push({
        reason: 'FieldManagerConflict',
        message: `conflict with ${renderManager(c.m)}`,
        field: renderPath(p),
      });
      total++;
    }
  }
  let message: string;
  if (total === 1) {
    message = `Apply failed with 1 conflict: ${causes[0].message}: ${causes[0].field}`;
  } else {
    const parts = sorted.map((c) => {
      const head =
        c.paths.length === 1
          ? `conflict with ${renderManager(c.m)}`
          : `conflicts with ${renderManager(c.m)}`;
      return `${head}:\n${[...c.paths]
        .sort()
        .map((p) => `- ${renderPath(p)}`)
        .join('\n')}`;
    });
    message = `Apply failed with ${total} conflicts: ${parts.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

/**
 * An apply body: YAML, of which JSON is a subset. JSON without duplicate keys is
 * parsed natively (clients send JSON; the YAML parser was a large CPU cost).
 */
function parseApplyBody(raw: string): unknown {
  if (raw.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (!hasDuplicateKeys(raw, parsed)) {
        return parsed;
      }
    } catch {
      // Not JSON after all (YAML flow mapping): the YAML parser decides.
    }
  }
  return YAML.parse(raw, { strict: true, uniqueKeys: true }) as unknown;
}

/** Re-serializing drops duplicate keys: a shorter key count than the source means some. */
function hasDuplicateKeys(raw: string, parsed: unknown): boolean {
  return countKeys(parsed) !== (raw.match(/"(?:[^"\\]|\\.)*"\s*:/g) ?? []).length;
}

function countKeys(v: unknown): number {
  if (Array.isArray(v)) {
    return v.reduce((n: number, item) => n + countKeys(item), 0);
  }
  if (typeof v === 'object' && v !== null) {
    return Object.values(v).reduce((n: number, item) => n + 1 + countKeys(item), 0);
  }
  return 0;
}
