import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isForeignKeyViolation, isUniqueViolation } from 'src/common/database/db-errors';
import { decodeContinueToken, filterDigest, Page, toPage } from 'src/common/api/pagination';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import type { TenantScope, TenantScopeResolver } from 'src/common/api/tenant-scope.pipe';
import { DNS_LABEL_PATTERN } from 'src/common/validation/names';
import { TenantRepository } from './tenant.repository';
import type { NewTenant, RoleBinding, Tenant, TenantPatch } from './tenant.types';
import { TenantError } from './tenants.errors';
import { TenantDeleted, TenantDeletionRequested } from './tenants.events';

@Injectable()
export class TenantsService implements TenantScopeResolver {
  private readonly logger = new Logger(TenantsService.name);

  constructor(
    private readonly tenants: TenantRepository,
    private readonly events: DomainEventBus,
  ) {}

  async create(input: NewTenant): Promise<Tenant> {
    checkRoleBindings(input.roleBindings);
    try {
      const id = await this.tenants.transaction((m) => this.tenants.insert(m, input));
      return await this.getById(id);
    } catch (error) {
      if (isUniqueViolation(error, 'UQ_tenant_name')) {
        throw new TenantError('TenantNameTaken', `A tenant named "${input.name}" already exists`);
      }
      throw error;
    }
  }

  async get(name: string): Promise<Tenant> {
    const tenant = await this.tenants.findByName(name);
    if (tenant === undefined) {
      throw new TenantError('TenantNotFound', `Tenant "${name}" not found`);
    }
    return tenant;
  }

  async getById(id: string): Promise<Tenant> {
    const tenant = await this.tenants.findById(id);
    if (tenant === undefined) {
      throw new TenantError('TenantNotFound', `Tenant ${id} not found`);
    }
    return tenant;
  }

  /** Ids of tenants by name; a missing name is a 404 naming it. */
  async idOf(name: string): Promise<string> {
    return (await this.get(name)).id;
  }

  /** The scope of a tenant-scoped request; an unknown or malformed name is 404, never 400. */
  async scopeOf(name: string): Promise<TenantScope> {
    if (typeof name !== 'string' || name.length > 63 || !DNS_LABEL_PATTERN.test(name)) {
      throw new TenantError('TenantNotFound', 'Tenant not found');
    }
    return { id: await this.idOf(name), name };
  }

  async namesByIds(ids: readonly string[]): Promise<Map<string, string>> {
    return this.tenants.namesByIds([...new Set(ids)]);
  }

  async list(page: { limit: number; continue?: string }): Promise<Page<Tenant>> {
    const digest = filterDigest({ list: 'tenants' });
    const after = decodeContinueToken(page.continue, digest, 1);
    const rows = await this.tenants.list(after?.[0], page.limit);
    return toPage(
      rows,
      page.limit,
      (t) => [t.name],
      digest,
      (t) => t,
    );
  }

  async update(name: string, patch: TenantPatch): Promise<Tenant> {
    checkRoleBindings(patch.roleBindings);
    const id = await this.tenants.transaction(async (m) => {
      const tenant = await this.tenants.findByName(name, m);
      if (tenant === undefined || !(await this.tenants.lockById(m, tenant.id))) {
        throw new TenantError('TenantNotFound', `Tenant "${name}" not found`);
      }
      await this.tenants.update(m, tenant.id, patch);
      return tenant.id;
    });
    return this.getById(id);
  }

  /**
   * Without `cascade`, deletes the tenant at once and is refused while it owns
   * anything. With `cascade`, only marks it for deletion (idempotent): the
   * tenant deletion in the identity module then has its releases pruned, its
   * grants offboarded from the workload clusters, and calls `finishDeletion`.
   */
  async delete(name: string, options: { cascade: boolean }): Promise<Tenant> {
    if (options.cascade) {
      // Read back in the transaction: once the event is delivered, an empty tenant may be gone at once.
      const marked = await this.tenants.transaction(async (m) => {
        const tenant = await this.tenants.findByName(name, m);
        if (tenant === undefined || !(await this.tenants.lockById(m, tenant.id))) {
          throw new TenantError('TenantNotFound', `Tenant "${name}" not found`);
        }
        await this.tenants.markForDeletion(m, tenant.id);
        this.events.publish(new TenantDeletionRequested(tenant.id));
        return (await this.tenants.findById(tenant.id, m))!;
      });
      this.logger.log({ msg: 'tenant deletion requested', tenant: name });
      return marked;
    }
    let tenant: Tenant | undefined;
    try {
      await this.tenants.transaction(async (m) => {
        tenant = await this.tenants.findByName(name, m);
        if (tenant === undefined || !(await this.tenants.lockById(m, tenant.id))) {
          throw new TenantError('TenantNotFound', `Tenant "${name}" not found`);
        }
        const h = await this.tenants.holdings(m, tenant.id);
        if (h.clusters + h.grants + h.releases + h.sources > 0) {
          throw new TenantError(
            'TenantNotEmpty',
            `Tenant "${name}" still owns ${h.clusters} cluster(s), ${h.grants} grant(s), ${h.releases} release(s) and ${h.sources} source(s); delete them first or use ?cascade=true`,
          );
        }
        await this.tenants.delete(m, tenant.id, false);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        throw new TenantError(
          'TenantNotEmpty',
          `Tenant "${name}" still owns objects; delete them first or use ?cascade=true`,
        );
      }
      throw error;
    }
    return tenant!;
  }

  /** Ids of the tenants whose cascading delete is in progress. */
  async listDeletingIds(): Promise<string[]> {
    return this.tenants.listDeletingIds();
  }

  /**
   * Last step of a cascading delete: removes the tenant with the clusters it
   * owns, once no grant, release or source of it is left. Returns false (and
   * changes nothing) while something is left or if the tenant is not being
   * deleted.
   */
  async finishDeletion(tenantId: string): Promise<boolean> {
    let name = '';
    const deletedClusters = await this.tenants.transaction(async (m) => {
      const tenant = (await this.tenants.lockById(m, tenantId))
        ? await this.tenants.findById(tenantId, m)
        : undefined;
      if (tenant === undefined || tenant.deletionRequestedAt === null) {
        return undefined;
      }
      const h = await this.tenants.holdings(m, tenantId);
      if (h.grants + h.releases + h.sources > 0) {
        return undefined;
      }
      name = tenant.name;
      const deleted = await this.tenants.delete(m, tenantId, true);
      this.events.publish(new TenantDeleted(tenantId, deleted));
      return deleted;
    });
    if (deletedClusters === undefined) {
      return false;
    }
    this.logger.log({ msg: 'tenant deleted', tenant: name, clusters: deletedClusters.length });
    return true;
  }

  /**
   * Locks the tenant row for the rest of the transaction, refusing a tenant
   * being deleted: objects created under the lock cannot slip past the
   * deletion, which marks the tenant under the same lock.
   */
  async lockForNewObjects(m: EntityManager, tenantId: string): Promise<void> {
    if (!(await this.tenants.lockById(m, tenantId))) {
      throw new TenantError('TenantNotFound', `Tenant ${tenantId} not found`);
    }
    checkNotDeleting((await this.tenants.findById(tenantId, m))!);
  }
}

function checkNotDeleting(tenant: Tenant): void {
  if (tenant.deletionRequestedAt !== null) {
    throw new TenantError(
      'TenantDeleting',
      `Tenant "${tenant.name}" is being deleted; it accepts no new objects`,
    );
  }
}

/** One binding per subject: a second role for the same group or user is ambiguous. */
function checkRoleBindings(bindings: readonly RoleBinding[] | undefined): void {
  const seen = new Set<string>();
  for (const [i, b] of (bindings ?? []).entries()) {
    const key = `${b.subjectKind}:${b.subject}`;
    if (seen.has(key)) {
      throw new TenantError(
        'InvalidRoleBindings',
        `roleBindings[${i}]: ${b.subjectKind} "${b.subject}" is bound twice`,
        [{ field: `roleBindings.${i}`, message: 'subject is bound twice' }],
      );
    }
    seen.add(key);
  }
}
