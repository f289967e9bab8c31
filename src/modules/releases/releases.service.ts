import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { labelKeyProblem, labelValueProblem } from 'src/clusters/labels/labels';
import type { FieldProblem } from 'src/common/errors/app-error';
import { releaseVariableProblems } from 'src/modules/rendering/variables';
import type { Page } from 'src/common/api/pagination';
import { TenantsService } from 'src/tenants/tenants.service';
import type { CreateReleaseDto, ReleaseSpecDto } from './dto/release.dto';
import type { ReleaseEntity } from './entities/release.entity';
import { RELEASE_SOURCE_LOOKUP, ReleaseSourceLookup } from './release-source.port';
import { ReleaseRepository, ReleaseSpec } from './release.repository';
import { ReleaseError } from './releases.errors';
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
  'variables',
  'timeoutSeconds',
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
  ) {}

  async create(tenantName: string, dto: CreateReleaseDto): Promise<ReleaseView> {
    const tenant = await this.tenants.get(tenantName);
    const spec = await this.toSpec(tenant.id, dto.name, dto);
    const release = await this.dataSource.transaction(async (m) => {
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
    const release = await this.dataSource.transaction(async (m) => {
      const current = await this.releases.findByName(tenantId, name, m);
      if (current === null || current.deletionRequestedAt !== null) {
        throw new ReleaseError('ReleaseNotFound', `release "${name}" not found`);
      }
      const changed = SPEC_FIELDS.some(
        (f) => JSON.stringify(current[f]) !== JSON.stringify(spec[f]),
      );
      await this.releases.update(tenantId, current.id, spec, changed, m);
      const updated = (await this.releases.findById(tenantId, current.id, m))!;
      await this.targets.syncForRelease(updated, m);
      if (changed || current.suspended !== updated.suspended) {
        await this.targets.enqueue(tenantId, { releaseId: updated.id }, m);
      }
      return updated;
    });
    return this.view(tenantName, release);
  }

  /** Marks the release for deletion; its targets prune (if enabled), then it disappears. */
  async delete(tenantName: string, name: string): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.dataSource.transaction(async (m) => {
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
        await this.dataSource.transaction((m) => this.requestDeletion(tenantId, id, m));
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
    return marked;
  }

  async setSuspended(tenantName: string, name: string, suspended: boolean): Promise<ReleaseView> {
    const tenantId = await this.tenants.idOf(tenantName);
    const current = await this.load(tenantId, name);
    await this.dataSource.transaction(async (m) => {
      await m.query(
        'UPDATE release SET suspended = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2',
        [tenantId, current.id, suspended],
      );
      await this.targets.enqueue(tenantId, { releaseId: current.id }, m);
    });
    return this.view(tenantName, await this.load(tenantId, name));
  }

  async reconcile(tenantName: string, name: string): Promise<number> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.load(tenantId, name);
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
      for (const { id, tenantId } of batch) {
        const release = await this.releases.findById(tenantId, id);
        if (release !== null) {
          const { added, removed } = await this.targets.syncForRelease(release);
          changed += added + removed;
        }
      }
      if (batch.length < RESELECT_BATCH) {
        return changed;
      }
      after = batch[batch.length - 1]?.id;
    }
  }

  /** Release by name for other contexts (targets API, reconciler). */
  async load(tenantId: string, name: string): Promise<ReleaseEntity> {
    const release = await this.releases.findByName(tenantId, name);
    if (release === null) {
      throw new ReleaseError('ReleaseNotFound', `release "${name}" not found`);
    }
    return release;
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
      wait: dto.wait ?? true,
      allowEmpty: dto.allowEmpty ?? false,
      force: dto.force ?? false,
      suspended: dto.suspend ?? false,
      dependsOn: dto.dependsOn ?? [],
      healthChecks: (dto.healthChecks ?? []).map((h) => ({ ...h })),
      variables: dto.variables ?? {},
    };
  }
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
  if (Object.values(variables).some((v) => typeof v !== 'string')) {
    add('variables', 'values must be strings');
  } else {
    for (const message of releaseVariableProblems(variables)) {
      add('variables', message);
    }
  }
  if ((dto.dependsOn ?? []).includes(name)) {
    add('dependsOn', 'a release cannot depend on itself');
  }
  return problems;
}
