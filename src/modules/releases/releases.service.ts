import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { labelKeyProblem, labelValueProblem } from 'src/common/labels/labels';
import type { FieldProblem } from 'src/common/errors/app-error';
import { releaseVariableProblems } from 'src/modules/rendering/variables';
import { overlayProblems } from 'src/modules/rendering/kustomize-overlay';
import type { Page } from 'src/common/api/pagination';
import type { TenantRowId } from 'src/common/database/tenant-row-ids';
import { TenantsService } from 'src/tenants/tenants.service';
import type { CreateReleaseDto, ReleaseSpecDto } from './dto/release.dto';
import type { ReleaseEntity } from './entities/release.entity';
import { RELEASE_SOURCE_LOOKUP, ReleaseSourceLookup } from './release-source.port';
import { ReleaseRepository, ReleaseSpec } from './release.repository';
import { exprProblems } from './health-check-exprs';
import { ReleaseError } from './releases.errors';
import { ReleaseChanged } from './releases.events';
import type { Release, ReleaseKustomize, ReleasePostBuild } from './releases.types';
import { ReleaseReadiness, TargetRepository } from './target.repository';

export interface ReleaseView {
  release: ReleaseEntity;
  tenantName: string;
  sourceName: string;
  readiness: ReleaseReadiness;
}

const DEFAULTS = { intervalSeconds: 300, retryIntervalSeconds: 60, timeoutSeconds: 300 };

// Changing any of these changes what the reconciler does, so it bumps generation.
const SPEC_FIELDS: (keyof ReleaseSpec)[] = [
  'sourceId',
  'path',
  'kind',
  'helm',
  'clusterSelector',
  'clusterNames',
  'targetNamespace',
  'prune',
  'wait',
  'allowEmpty',
  'force',
  'dependsOn',
  'healthChecks',
  'healthCheckExprs',
  'postBuild',
  'kustomize',
  'timeoutSeconds',
  'pruneCustomResourceDefinitions',
  'adopt',
];

const RESELECT_BATCH = 500;

@Injectable()
export class ReleasesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly releases: ReleaseRepository,
    private readonly targets: TargetRepository,
    private readonly tenants: TenantsService,
    @Inject(RELEASE_SOURCE_LOOKUP) private readonly sources: ReleaseSourceLookup,
    private readonly events: DomainEventBus,
  ) {}

  async create(tenantName: string, dto: CreateReleaseDto): Promise<ReleaseView> {
    const tenant = await this.tenants.get(tenantName);
    const spec = await this.toSpec(tenant.id, dto.name, dto);
    const release = await runInTransaction(this.dataSource, async (m) => {
      // Serializes creates of one tenant so the quota check cannot be raced, and
      // with a tenant's deletion, which must not miss a release created meanwhile.
      await this.tenants.lockForNewObjects(m, tenant.id);
      if ((await this.releases.findByName(tenant.id, dto.name, m)) !== null) {
        throw new ReleaseError('ReleaseAlreadyExists', `release "${dto.name}" already exists`);
      }
      const max = tenant.quotas.maxReleases;
      if (
        max !== null &&
        max !== undefined &&
        (await this.releases.countForTenant(tenant.id, m)) >= max
      ) {
        throw new ReleaseError(
          'QuotaExceeded',
          `tenant "${tenantName}" may hold at most ${max} releases`,
        );
      }
      const created = await this.releases.insert(tenant.id, spec, m);
      await this.targets.syncForRelease(created, m);
      this.events.publish(new ReleaseChanged(tenant.id, created.id, 'created'));
      return created;
    });
    return this.view(tenantName, release);
  }

  async get(tenantName: string, name: string): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    return this.view(tenantName, await this.load(tenantId, name));
  }

  async list(
    tenantName: string,
    limit: number,
    token: string | undefined,
  ): Promise<Page<ReleaseView>> {
    const tenantId = await this.tenants.idOf(tenantName);
    const page = await this.releases.list(tenantId, limit, token);
    const [sourceNames, readiness] = await Promise.all([
      this.sources.namesByIds(tenantId, [...new Set(page.items.map((r) => r.sourceId))]),
      this.targets.readiness(
        tenantId,
        page.items.map((r) => r.id),
      ),
    ]);
    const byRelease = new Map(readiness.map((r) => [r.releaseId, r]));
    return {
      ...page,
      items: page.items.map((release) => ({
        release,
        tenantName,
        sourceName: sourceNames.get(release.sourceId) ?? '',
        readiness: byRelease.get(release.id) ?? { releaseId: release.id, total: 0, ready: 0 },
      })),
    };
  }

  async update(tenantName: string, name: string, dto: ReleaseSpecDto): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    const spec = await this.toSpec(tenantId, name, dto);
    const release = await runInTransaction(this.dataSource, async (m) => {
      const current = await this.releases.findByName(tenantId, name, m);
      if (current === null || current.deletionRequestedAt !== null) {
        throw new ReleaseError('ReleaseNotFound', `release "${name}" not found`);
      }
      const changed = SPEC_FIELDS.some(
        (f) => JSON.stringify(current[f]) !== JSON.stringify(spec[f]),
      );
      await this.releases.update(tenantId, current.id, spec, changed, m);
      const updated = (await this.releases.findById(tenantId, current.id, m))!;
      const { added, removed } = await this.targets.syncForRelease(updated, m);
      const resumedOrSuspended = current.suspended !== updated.suspended;
      if (changed || resumedOrSuspended) {
        await this.targets.enqueue(tenantId, { releaseId: updated.id }, m);
      }
      // A PUT that changes nothing tells nobody.
      if (changed || resumedOrSuspended || added + removed > 0) {
        this.events.publish(new ReleaseChanged(tenantId, updated.id, 'changed'));
      }
      return updated;
    });
    return this.view(tenantName, release);
  }

  /** Marks the release for deletion; its targets prune (if enabled), then it disappears. */
  async delete(tenantName: string, name: string): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await runInTransaction(this.dataSource, async (m) => {
      const current = await this.releases.findByName(tenantId, name, m);
      const marked = current === null ? null : await this.requestDeletion(tenantId, current.id, m);
      if (marked === null) {
        throw new ReleaseError('ReleaseNotFound', `release "${name}" not found`);
      }
      return marked;
    });
    return this.view(tenantName, release);
  }

  /**
   * Requests the deletion of every release of a tenant being deleted, the
   * same way as `delete`: their targets prune, then the rows go. Idempotent;
   * also drops marked releases whose last target went with its cluster.
   * Returns the releases left and the clusters where targets are left.
   */
  async deleteAllOfTenant(
    tenantId: string,
  ): Promise<{ releasesLeft: number; clusterIdsWithTargets: string[] }> {
    for (const { id, deletionRequested } of await this.releases.deletionStates(tenantId)) {
      if (deletionRequested) {
        await this.releases.deleteIfNoTargets(id);
      } else {
        await runInTransaction(this.dataSource, (m) => this.requestDeletion(tenantId, id, m));
      }
    }
    return {
      releasesLeft: await this.releases.countForTenant(tenantId),
      clusterIdsWithTargets: await this.releases.clusterIdsWithTargets(tenantId),
    };
  }

  /** Marks the release; its targets become due for removal (or it goes at once without any). Null: gone. */
  private async requestDeletion(
    tenantId: string,
    releaseId: string,
    m: EntityManager,
  ): Promise<ReleaseEntity | null> {
    await this.releases.markForDeletion(tenantId, releaseId, m);
    const marked = await this.releases.findById(tenantId, releaseId, m);
    if (marked === null) {
      return null;
    }
    await this.targets.syncForRelease(marked, m);
    await this.releases.deleteIfNoTargets(releaseId, m);
    this.events.publish(new ReleaseChanged(tenantId, releaseId, 'deleted'));
    return marked;
  }

  async setSuspended(tenantName: string, name: string, suspended: boolean): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    const current = await this.load(tenantId, name);
    await runInTransaction(this.dataSource, async (m) => {
      await m.query(
        'UPDATE release SET suspended = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2',
        [tenantId, current.id, suspended],
      );
      await this.targets.enqueue(tenantId, { releaseId: current.id }, m);
      this.events.publish(new ReleaseChanged(tenantId, current.id, 'changed'));
    });
    return this.view(tenantName, await this.load(tenantId, name));
  }

  async reconcile(tenantName: string, name: string): Promise<number> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.load(tenantId, name);
    if (release.suspended) {
      // Accepting would promise a run that suspension never lets happen.
      throw new ReleaseError('ReleaseSuspended', `release "${name}" is suspended; resume it first`);
    }
    return this.targets.enqueue(tenantId, { releaseId: release.id }, undefined, {
      freshRead: true,
    });
  }

  /**
   * Re-selects the clusters of every release (cluster labels or grants may have
   * changed), a batch of ids at a time. Returns how many targets were added or removed.
   */
  async reselectAll(): Promise<number> {
    let changed = 0;
    let after: string | undefined;
    for (;;) {
      const batch = await this.releases.listIdsAfter(after, RESELECT_BATCH);
      // One read per batch, not per release; a release deleted meanwhile is simply absent.
      for (const release of await this.releases.findByTenantRowIds(batch)) {
        const { added, removed } = await this.targets.syncForRelease(release);
        changed += added + removed;
      }
      if (batch.length < RESELECT_BATCH) {
        return changed;
      }
      after = batch[batch.length - 1]?.id;
    }
  }

  /**
   * Re-selects the clusters of one tenant's releases (one of its grants, or a
   * cluster it is granted, changed). Returns how many targets were added or removed.
   */
  async reselectTenant(tenantId: string): Promise<number> {
    let changed = 0;
    for (const release of await this.releases.listForTenant(tenantId)) {
      const { added, removed } = await this.targets.syncForRelease(release);
      changed += added + removed;
    }
    return changed;
  }

  /** Release by name for other contexts (targets API, reconciler). */
  async load(tenantId: string, name: string): Promise<Release> {
    const release = await this.releases.findByName(tenantId, name);
    if (release === null) {
      throw new ReleaseError('ReleaseNotFound', `release "${name}" not found`);
    }
    return release;
  }

  /** The tenant's releases that list `name` in dependsOn. */
  listDependents(tenantId: string, name: string): Promise<Release[]> {
    return this.releases.listDependents(tenantId, name);
  }

  /** Release by name, or null when there is none (a dependency that does not exist yet). */
  findByName(tenantId: string, name: string): Promise<Release | null> {
    return this.releases.findByName(tenantId, name);
  }

  /** Releases of several tenants (the reconcile worker's claimed batch), each id with its tenant. */
  findByTenantRowIds(keys: readonly TenantRowId[]): Promise<Release[]> {
    return this.releases.findByTenantRowIds(keys);
  }

  /** The claimed batch's releases, each with whether another release depends on it. */
  findForReconcile(
    keys: readonly TenantRowId[],
  ): Promise<{ release: Release; hasDependents: boolean }[]> {
    return this.releases.findByTenantRowIdsWithDependents(keys);
  }

  /** Releases of one tenant that use a source, for revision-triggered reconciles. */
  listBySource(tenantId: string, sourceId: string): Promise<Release[]> {
    return this.releases.listBySource(tenantId, sourceId);
  }

  /** Removes a release marked for deletion once none of its targets is left. */
  deleteIfNoTargets(id: string): Promise<boolean> {
    return this.releases.deleteIfNoTargets(id);
  }

  private async view(tenantName: string, release: ReleaseEntity): Promise<ReleaseView> {
    const [names, readiness] = await Promise.all([
      this.sources.namesByIds(release.tenantId, [release.sourceId]),
      this.targets.readiness(release.tenantId, [release.id]),
    ]);
    return {
      release,
      tenantName,
      sourceName: names.get(release.sourceId) ?? '',
      readiness: readiness[0] ?? { releaseId: release.id, total: 0, ready: 0 },
    };
  }

  private async toSpec(tenantId: string, name: string, dto: ReleaseSpecDto): Promise<ReleaseSpec> {
    const problems = specProblems(name, dto);
    if (problems.length > 0) {
      throw new ReleaseError(
        'InvalidRelease',
        `Validation failed: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
        problems,
      );
    }
    const sourceId = await this.sources.idOf(tenantId, dto.source);
    return {
      name,
      sourceId,
      path: normalizePath(dto.path ?? ''),
      kind: dto.kind ?? null,
      helm: dto.helm === undefined ? null : { ...dto.helm },
      clusterSelector: dto.clusterSelector === undefined ? null : { ...dto.clusterSelector },
      clusterNames: dto.clusterNames ?? null,
      targetNamespace: dto.targetNamespace,
      intervalSeconds: dto.intervalSeconds ?? DEFAULTS.intervalSeconds,
      retryIntervalSeconds: dto.retryIntervalSeconds ?? DEFAULTS.retryIntervalSeconds,
      timeoutSeconds: dto.timeoutSeconds ?? DEFAULTS.timeoutSeconds,
      prune: dto.prune ?? true,
      pruneCustomResourceDefinitions: dto.pruneCustomResourceDefinitions ?? false,
      adopt: dto.adopt ?? 'IfUnowned',
      wait: dto.wait ?? true,
      allowEmpty: dto.allowEmpty ?? false,
      force: dto.force ?? false,
      suspended: dto.suspend ?? false,
      dependsOn: dto.dependsOn ?? [],
      healthChecks: (dto.healthChecks ?? []).map((h) => ({ ...h })),
      healthCheckExprs: (dto.healthCheckExprs ?? []).map((e) => ({
        apiVersion: e.apiVersion,
        kind: e.kind,
        current: e.current,
        ...(e.inProgress ? { inProgress: e.inProgress } : {}),
        ...(e.failed ? { failed: e.failed } : {}),
      })),
      postBuild: postBuildOf(dto),
      kustomize: dto.kustomize === undefined ? null : kustomizeOf(dto.kustomize),
    };
  }
}

/**
 * The stored postBuild: `postBuild` as given, or the deprecated `variables` when
 * non-empty (as `substitute`); null when neither, so nothing is substituted.
 */
function postBuildOf(dto: ReleaseSpecDto): ReleasePostBuild | null {
  if (dto.postBuild !== undefined) {
    const { substitute, substituteFrom } = dto.postBuild;
    return {
      ...(substitute === undefined ? {} : { substitute: { ...substitute } }),
      ...(substituteFrom === undefined
        ? {}
        : {
            substituteFrom: substituteFrom.map((r) => ({
              kind: r.kind,
              name: r.name,
              ...(r.optional === undefined ? {} : { optional: r.optional }),
            })),
          }),
    };
  }
  const variables = dto.variables ?? {};
  return Object.keys(variables).length > 0 ? { substitute: { ...variables } } : null;
}

/** The stored overlay: the fields given, in Flux's shape, nothing else. */
function kustomizeOf(dto: NonNullable<ReleaseSpecDto['kustomize']>): ReleaseKustomize {
  const target = (t: NonNullable<NonNullable<typeof dto.patches>[number]['target']>) =>
    Object.fromEntries(
      (
        [
          'group',
          'version',
          'kind',
          'name',
          'namespace',
          'labelSelector',
          'annotationSelector',
        ] as const
      )
        .filter((k) => t[k] !== undefined)
        .map((k) => [k, t[k]]),
    );
  return {
    ...(dto.patches === undefined
      ? {}
      : {
          patches: dto.patches.map((p) => ({
            patch: p.patch,
            ...(p.target === undefined ? {} : { target: target(p.target) }),
          })),
        }),
    ...(dto.images === undefined
      ? {}
      : {
          images: dto.images.map((i) => ({
            name: i.name,
            ...(i.newName === undefined ? {} : { newName: i.newName }),
            ...(i.newTag === undefined ? {} : { newTag: i.newTag }),
            ...(i.digest === undefined ? {} : { digest: i.digest }),
          })),
        }),
    ...(dto.namePrefix === undefined ? {} : { namePrefix: dto.namePrefix }),
    ...(dto.nameSuffix === undefined ? {} : { nameSuffix: dto.nameSuffix }),
    ...(dto.commonMetadata === undefined
      ? {}
      : {
          commonMetadata: {
            ...(dto.commonMetadata.labels === undefined
              ? {}
              : { labels: { ...dto.commonMetadata.labels } }),
            ...(dto.commonMetadata.annotations === undefined
              ? {}
              : { annotations: { ...dto.commonMetadata.annotations } }),
          },
        }),
    ...(dto.components === undefined ? {} : { components: [...dto.components] }),
  };
}

function normalizePath(path: string): string {
  return path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

/** Checks class-validator cannot express; every problem names its field. */
export function specProblems(name: string, dto: ReleaseSpecDto): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: string, message: string): void => {
    problems.push({ field, message });
  };
  const hasSelector = dto.clusterSelector !== undefined;
  const hasNames = dto.clusterNames !== undefined;
  if (hasSelector === hasNames) {
    add('clusterSelector', 'give exactly one of clusterSelector and clusterNames');
  }
  for (const [key, value] of Object.entries(dto.clusterSelector?.matchLabels ?? {})) {
    const problem =
      labelKeyProblem(key) ??
      (typeof value === 'string' ? labelValueProblem(value) : 'must be a string');
    if (problem !== undefined) {
      add(`clusterSelector.matchLabels.${key}`, problem);
    }
  }
  for (const [i, e] of (dto.clusterSelector?.matchExpressions ?? []).entries()) {
    const keyProblem = labelKeyProblem(e.key);
    if (keyProblem !== undefined) {
      add(`clusterSelector.matchExpressions.${i}.key`, keyProblem);
    }
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues && (e.values ?? []).length === 0) {
      add(`clusterSelector.matchExpressions.${i}.values`, `${e.operator} needs at least one value`);
    }
    if (!needsValues && (e.values ?? []).length > 0) {
      add(`clusterSelector.matchExpressions.${i}.values`, `${e.operator} takes no values`);
    }
  }
  const path = dto.path ?? '';
  if (path.startsWith('/') || path.split('/').includes('..')) {
    add('path', 'must be a relative path inside the source, without ".."');
  }
  if (dto.kind === 'helm' && dto.helm === undefined) {
    add('helm', 'is required when kind is helm');
  }
  if (dto.helm !== undefined && dto.kind !== undefined && dto.kind !== 'helm') {
    add('helm', 'is only allowed when kind is helm');
  }
  for (const [i, file] of (dto.helm?.valuesFiles ?? []).entries()) {
    if (file.startsWith('/') || file.split('/').includes('..')) {
      add(`helm.valuesFiles.${i}`, 'must be a relative path inside the source, without ".."');
    }
  }
  const variables = dto.variables ?? {};
  if (Object.keys(variables).length > 0 && dto.postBuild !== undefined) {
    add('variables', 'is a deprecated alias of postBuild.substitute; give only postBuild');
  }
  for (const message of releaseVariableProblems(variables)) {
    add('variables', message);
  }
  for (const message of releaseVariableProblems(dto.postBuild?.substitute ?? {})) {
    add('postBuild.substitute', message);
  }
  const seen = new Set<string>();
  for (const [i, ref] of (dto.postBuild?.substituteFrom ?? []).entries()) {
    const key = `${ref.kind}/${ref.name}`;
    if (seen.has(key)) {
      add(`postBuild.substituteFrom.${i}`, `${key} is listed twice`);
    }
    seen.add(key);
  }
  for (const [i, entry] of (dto.healthCheckExprs ?? []).entries()) {
    for (const p of exprProblems(entry)) {
      add(
        `healthCheckExprs.${i}.${p.field}`,
        p.expression === ''
          ? p.message
          : `CEL expression "${p.expression}" does not compile: ${p.message}`,
      );
    }
  }
  if (dto.kustomize !== undefined) {
    if (dto.kind === 'helm' || dto.helm !== undefined) {
      // Flux's HelmRelease takes overlays as postRenderers, not as Kustomization fields.
      add(
        'kustomize',
        'overlays apply to plain manifests and Kustomize paths, not to a Helm release; remove kustomize or render the path as plain/kustomize',
      );
    } else {
      problems.push(...overlayProblems(dto.kustomize, normalizePath(path)));
    }
  }
  if ((dto.dependsOn ?? []).includes(name)) {
    add('dependsOn', 'a release cannot depend on itself');
  }
  return problems;
}
