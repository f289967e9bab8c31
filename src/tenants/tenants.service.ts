import { Injectable, Logger } from '@nestjs/common';
import { isForeignKeyViolation, isUniqueViolation } from 'src/common/database/db-errors';
import { decodeContinueToken, filterDigest, Page, toPage } from 'src/common/api/pagination';
import { TenantRepository } from './tenant.repository';
import type { NewTenant, RoleBinding, Tenant, TenantPatch } from './tenant.types';
import { TenantError } from './tenants.errors';

export type ClustersDeletedListener = (clusters: readonly { id: string; name: string }[]) => void;

@Injectable()
export class TenantsService {
  private readonly logger = new Logger(TenantsService.name);
  private readonly clustersDeletedListeners: ClustersDeletedListener[] = [];

  constructor(private readonly tenants: TenantRepository) {}

  /** The cluster registry drops caches and metric series of clusters a cascading delete removed. */
  onClustersDeleted(listener: ClustersDeletedListener): void {
    this.clustersDeletedListeners.push(listener);
  }

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
   * Refused while the tenant owns anything, unless `cascade`: then its grants
   * and owned clusters go in the same transaction. Rows of other contexts
   * (sources, releases) are protected by their foreign keys → 409 as well.
   */
  async delete(name: string, options: { cascade: boolean }): Promise<Tenant> {
    let deletedClusters: { id: string; name: string }[] = [];
    let tenant: Tenant | undefined;
    try {
      await this.tenants.transaction(async (m) => {
        tenant = await this.tenants.findByName(name, m);
        if (tenant === undefined || !(await this.tenants.lockById(m, tenant.id))) {
          throw new TenantError('TenantNotFound', `Tenant "${name}" not found`);
        }
        const holdings = await this.tenants.holdings(m, tenant.id);
        if (!options.cascade && (holdings.clusters > 0 || holdings.grants > 0)) {
          throw new TenantError(
            'TenantNotEmpty',
            `Tenant "${name}" still owns ${holdings.clusters} cluster(s) and ${holdings.grants} grant(s); delete them first or use ?cascade=true`,
          );
        }
        deletedClusters = await this.tenants.delete(m, tenant.id, options.cascade);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        throw new TenantError(
          'TenantNotEmpty',
          `Tenant "${name}" still owns objects (sources, releases or clusters); delete them first`,
        );
      }
      throw error;
    }
    if (deletedClusters.length > 0) {
      this.logger.log({
        msg: 'tenant deleted with its clusters',
        tenant: name,
        clusters: deletedClusters.length,
      });
      for (const listener of this.clustersDeletedListeners) {
        listener(deletedClusters);
      }
    }
    return tenant!;
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
