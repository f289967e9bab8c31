import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Page, decodeContinueToken, filterDigest, toPage } from 'src/common/api/pagination';
import { ReleaseEntity } from './entities/release.entity';
import { type TenantRowId, tenantRowIdArrays } from 'src/common/database/tenant-row-ids';

export type ReleaseSpec = Omit<
  ReleaseEntity,
  'id' | 'tenantId' | 'tenant' | 'generation' | 'createdAt' | 'updatedAt' | 'deletionRequestedAt'
>;

@Injectable()
export class ReleaseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(ReleaseEntity);
  }

  async insert(
    tenantId: string,
    spec: ReleaseSpec,
    manager?: EntityManager,
  ): Promise<ReleaseEntity> {
    const entity = this.repo(manager).create({
      ...spec,
      id: randomUUID(),
      tenantId,
      generation: 1,
    });
    // jsonb columns (helm values) defeat TypeORM's deep-partial typing.
    await this.repo(manager).insert(entity as QueryDeepPartialEntity<ReleaseEntity>);
    return (await this.findByName(tenantId, spec.name, manager))!;
  }

  findByName(
    tenantId: string,
    name: string,
    manager?: EntityManager,
  ): Promise<ReleaseEntity | null> {
    return this.repo(manager).findOneBy({ tenantId, name });
  }

  findById(tenantId: string, id: string, manager?: EntityManager): Promise<ReleaseEntity | null> {
    return this.repo(manager).findOneBy({ tenantId, id });
  }

  /** Releases of several tenants (the reconcile worker's claimed batch), each id with its tenant. */
  findByTenantRowIds(keys: readonly TenantRowId[]): Promise<ReleaseEntity[]> {
    if (keys.length === 0) {
      return Promise.resolve([]);
    }
    return this.repo()
      .createQueryBuilder('r')
      .where(
        '(r.tenant_id, r.id) IN (SELECT * FROM unnest(CAST(:tenantIds AS uuid[]), CAST(:ids AS uuid[])))',
        tenantRowIdArrays(keys),
      )
      .getMany();
  }

  /**
   * The same releases, each with whether another release of its tenant lists it in
   * `dependsOn`: the reconciler then wakes dependents only for releases that have them.
   */
  async findByTenantRowIdsWithDependents(
    keys: readonly TenantRowId[],
  ): Promise<{ release: ReleaseEntity; hasDependents: boolean }[]> {
    if (keys.length === 0) {
      return [];
    }
    const { entities, raw } = await this.repo()
      .createQueryBuilder('r')
      .addSelect(
        'EXISTS (SELECT 1 FROM release d WHERE d.tenant_id = r.tenant_id AND r.name = ANY(d.depends_on))',
        'has_dependents',
      )
      .where(
        '(r.tenant_id, r.id) IN (SELECT * FROM unnest(CAST(:tenantIds AS uuid[]), CAST(:ids AS uuid[])))',
        tenantRowIdArrays(keys),
      )
      .getRawAndEntities<{ r_id: string; has_dependents: boolean }>();
    const flags = new Map(raw.map((row) => [row.r_id, row.has_dependents]));
    return entities.map((release) => ({ release, hasDependents: flags.get(release.id) === true }));
  }

  /** Every release of a tenant, those marked for deletion included (their targets prune). */
  listForTenant(tenantId: string): Promise<ReleaseEntity[]> {
    return this.repo().find({ where: { tenantId }, order: { id: 'ASC' } });
  }

  findByIds(tenantId: string, ids: readonly string[]): Promise<ReleaseEntity[]> {
    if (ids.length === 0) {
      return Promise.resolve([]);
    }
    return this.repo()
      .createQueryBuilder('r')
      .where('r.tenant_id = :tenantId AND r.id = ANY(:ids)', { tenantId, ids })
      .getMany();
  }

  async list(
    tenantId: string,
    limit: number,
    token: string | undefined,
  ): Promise<Page<ReleaseEntity>> {
    const digest = filterDigest({ tenantId });
    const cursor = decodeContinueToken(token, digest, 1);
    const qb = this.repo()
      .createQueryBuilder('r')
      .where('r.tenant_id = :tenantId', { tenantId })
      .orderBy('r.name', 'ASC')
      .limit(limit + 1);
    if (cursor !== undefined) {
      qb.andWhere('r.name > :after', { after: cursor[0] });
    }
    return toPage(
      await qb.getMany(),
      limit,
      (r) => [r.name],
      digest,
      (r) => r,
    );
  }

  /** Saves a new spec; bumps generation only when something the reconciler reads changed. */
  async update(
    tenantId: string,
    id: string,
    spec: ReleaseSpec,
    specChanged: boolean,
    manager?: EntityManager,
  ): Promise<void> {
    await this.repo(manager)
      .createQueryBuilder()
      .update(ReleaseEntity)
      .set({
        ...spec,
        ...(specChanged ? { generation: () => 'generation + 1' } : {}),
      } as QueryDeepPartialEntity<ReleaseEntity>)
      .where('tenant_id = :tenantId AND id = :id', { tenantId, id })
      .execute();
  }

  async markForDeletion(tenantId: string, id: string, manager?: EntityManager): Promise<void> {
    await this.repo(manager).update({ tenantId, id }, { deletionRequestedAt: () => 'now()' });
  }

  /** Removes a release marked for deletion once none of its targets is left. */
  async deleteIfNoTargets(id: string, manager?: EntityManager): Promise<boolean> {
    const result = await this.repo(manager).query<[unknown[], number]>(
      `DELETE FROM release r WHERE r.id = $1 AND r.deletion_requested_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM target t WHERE t.release_id = r.id)`,
      [id],
    );
    return result[1] > 0;
  }

  /** Every release of one tenant: id and whether its deletion was requested. */
  async deletionStates(tenantId: string): Promise<{ id: string; deletionRequested: boolean }[]> {
    const rows = await this.dataSource.query<{ id: string; deleting: boolean }[]>(
      `SELECT id, deletion_requested_at IS NOT NULL AS deleting FROM release WHERE tenant_id = $1 ORDER BY id`,
      [tenantId],
    );
    return rows.map((r) => ({ id: r.id, deletionRequested: r.deleting }));
  }

  /** Clusters on which the tenant still has targets (objects applied or being pruned). */
  async clusterIdsWithTargets(tenantId: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ cluster_id: string }[]>(
      'SELECT DISTINCT cluster_id FROM target WHERE tenant_id = $1',
      [tenantId],
    );
    return rows.map((r) => r.cluster_id);
  }

  countForTenant(tenantId: string, manager?: EntityManager): Promise<number> {
    return this.repo(manager).countBy({ tenantId });
  }

  /** Releases of every tenant using a source, for revision-triggered reconciles. */
  listDependents(tenantId: string, name: string): Promise<ReleaseEntity[]> {
    return this.repo()
      .createQueryBuilder('r')
      .where('r.tenantId = :tenantId AND :name = ANY(r.dependsOn)', { tenantId, name })
      .getMany();
  }

  listBySource(tenantId: string, sourceId: string): Promise<ReleaseEntity[]> {
    return this.repo().findBy({ tenantId, sourceId });
  }

  /** Every release id, for the periodic target resync. Bounded per call. */
  async listIdsAfter(
    afterId: string | undefined,
    limit: number,
  ): Promise<{ id: string; tenantId: string }[]> {
    const qb = this.repo()
      .createQueryBuilder('r')
      .select(['r.id', 'r.tenantId'])
      .orderBy('r.id', 'ASC')
      .limit(limit);
    if (afterId !== undefined) {
      qb.where('r.id > :afterId', { afterId });
    }
    return (await qb.getMany()).map((r) => ({ id: r.id, tenantId: r.tenantId }));
  }
}
