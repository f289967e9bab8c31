import { Inject, Injectable } from '@nestjs/common';
import type { Cluster } from 'src/clusters/cluster.types';
import { ClustersService } from 'src/clusters/clusters.service';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import type { RoleBinding } from 'src/tenants/tenant.types';
import { TenantsService } from 'src/tenants/tenants.service';
import { IdentityError } from './identity.errors';

@Injectable()
export class TenantSelfService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tenants: TenantsService,
    private readonly clusters: ClustersService,
  ) {}

  async roleBindings(tenant: string): Promise<RoleBinding[]> {
    return (await this.tenants.get(tenant)).roleBindings.map((b) => ({ ...b }));
  }

  async replaceRoleBindings(
    tenant: string,
    bindings: readonly RoleBinding[],
  ): Promise<RoleBinding[]> {
    const updated = await this.tenants.update(tenant, { roleBindings: bindings });
    return updated.roleBindings.map((b) => ({ ...b }));
  }

  async ownedClusters(tenant: string): Promise<Cluster[]> {
    return this.clusters.listOwnedBy(await this.tenants.idOf(tenant));
  }

  /**
   * The registry's rules apply (sanitized kubeconfig, quota); the owner is the
   * tenant of the path and private or loopback servers are refused unless configured.
   */
  async registerCluster(
    tenant: string,
    input: { name: string; kubeconfig: string; context?: string; labels?: Record<string, string> },
  ): Promise<Cluster> {
    const t = await this.tenants.get(tenant);
    if (!t.allowClusterRegistration) {
      throw new IdentityError(
        'ClusterRegistrationNotAllowed',
        `Tenant "${tenant}" may not register clusters; ask a platform admin`,
      );
    }
    return this.clusters.register(
      {
        name: input.name,
        kubeconfig: input.kubeconfig,
        ...(input.context === undefined ? {} : { context: input.context }),
        ...(input.labels === undefined ? {} : { labels: input.labels }),
        ownerTenant: t.name,
        source: 'manual',
      },
      { allowPrivateAddresses: this.config.tenantClusterAllowPrivateAddresses },
    );
  }
}
