import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { isUniqueViolation } from 'src/common/database/db-errors';
import { decodeContinueToken, filterDigest, Page, toPage } from 'src/common/api/pagination';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { TenantsService } from 'src/tenants/tenants.service';
import { TenantError } from 'src/tenants/tenants.errors';
import { TenantDeleted } from 'src/tenants/tenants.events';
import { ClusterRepository } from './cluster.repository';
import type { Cluster, ClusterListFilter } from './cluster.types';
import { ClusterError } from './clusters.errors';
import { ClusterChanged } from './clusters.events';
import { ClusterClientFactory } from './connection/cluster-client.factory';
import { ClusterProbeService } from './connection/cluster-probe.service';
import type { ClusterSource } from './entities/cluster.entity';
import { sanitizeKubeconfig, VettedKubeconfig } from './kubeconfig/kubeconfig-sanitizer';
import {
  LabelSelector,
  LabelSelectorError,
  parseLabelSelector,
} from 'src/common/labels/label-selector';
import { labelProblems } from 'src/common/labels/labels';
import { clusterKubeconfigAad } from 'src/common/vault/sealed-columns';
import { SecretVault } from 'src/common/vault/secret-vault';

export interface KubeconfigUpload {
  /** YAML or JSON text. */
  readonly kubeconfig: string;
  readonly context?: string;
  /** Explicit opt-in to `insecure-skip-tls-verify: true`. */
  readonly insecureSkipTlsVerify?: boolean;
}

export interface RegisterCluster extends KubeconfigUpload {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Tenant name; absent: platform-shared. */
  readonly ownerTenant?: string;
  readonly source?: ClusterSource;
}

export interface ClusterQuery {
  /** Kubernetes label selector syntax. */
  readonly labelSelector?: string;
  /** Tenant name, or `none` for platform-shared clusters. */
  readonly owner?: string;
  /** `Type=Status`, e.g. `Ready=False`. */
  readonly condition?: string;
}

/** Who registers: admins may point at private addresses, tenants (later) may not. */
export interface RegistrationPolicy {
  readonly allowPrivateAddresses: boolean;
}

const ADMIN_POLICY: RegistrationPolicy = { allowPrivateAddresses: true };

@Injectable()
export class ClustersService implements OnModuleInit {
  private readonly logger = new Logger(ClustersService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clusters: ClusterRepository,
    private readonly tenants: TenantsService,
    private readonly vault: SecretVault,
    private readonly clients: ClusterClientFactory,
    private readonly probes: ClusterProbeService,
    private readonly events: DomainEventBus,
  ) {}

  onModuleInit(): void {
    // A tenant's cascading delete removes the clusters it owned, in the tenants' transaction.
    this.events.subscribe(
      TenantDeleted,
      (event) => {
        for (const cluster of event.deletedClusters) {
          this.forget(cluster);
          this.events.publish(new ClusterChanged(cluster.id, cluster.name, 'deleted'));
        }
      },
      'ClustersService.forgetClustersOfDeletedTenant',
    );
  }

  /**
   * Registers a cluster from an uploaded kubeconfig, then probes it once: an
   * unreachable cluster is still registered, marked not reachable.
   */
  async register(
    input: RegisterCluster,
    policy: RegistrationPolicy = ADMIN_POLICY,
  ): Promise<Cluster> {
    this.checkLabels(input.labels ?? {});
    const vetted = this.sanitize(input, policy);
    const ownerTenantId =
      input.ownerTenant === undefined ? null : await this.tenantIdFor(input.ownerTenant);
    const id = randomUUID();
    const ciphertext = this.vault.encrypt(JSON.stringify(vetted), clusterKubeconfigAad(id));
    try {
      await this.clusters.transaction(async (m) => {
        if (ownerTenantId !== null) {
          // Lock the owner so concurrent registrations count each other, and so none
          // slips in after the owner's deletion began (409 TenantDeleting).
          await this.tenants.lockForNewObjects(m, ownerTenantId);
          const owner = await this.tenants.getById(ownerTenantId);
          const max = owner.quotas.maxClusters;
          if (max !== null && (await this.clusters.countOwnedBy(m, ownerTenantId)) >= max) {
            throw new ClusterError(
              'ClusterQuotaExceeded',
              `Tenant "${owner.name}" already owns its maximum of ${max} cluster(s)`,
            );
          }
        }
        await this.clusters.insert(m, {
          id,
          name: input.name,
          labels: input.labels ?? {},
          ownerTenantId,
          apiServerUrl: vetted.server,
          source: input.source ?? 'manual',
          insecureSkipTlsVerify: vetted.insecureSkipTlsVerify,
          kubeconfigCiphertext: ciphertext,
          kubeconfigKeyId: this.vault.keyIdOf(ciphertext),
        });
        this.events.publish(new ClusterChanged(id, input.name, 'created'));
      });
    } catch (error) {
      if (isUniqueViolation(error, 'UQ_cluster_name')) {
        throw new ClusterError(
          'ClusterNameTaken',
          `A cluster named "${input.name}" already exists`,
        );
      }
      throw error;
    }
    this.logger.log({ msg: 'cluster registered', cluster: input.name, server: vetted.server });
    await this.probes.probe(id);
    return this.getById(id);
  }

  /** Replaces the credentials; every cached client of the cluster is dropped, then it is probed. */
  async rotateKubeconfig(
    name: string,
    input: KubeconfigUpload,
    policy: RegistrationPolicy = ADMIN_POLICY,
  ): Promise<Cluster> {
    const vetted = this.sanitize(input, policy);
    const id = await this.clusters.transaction(async (m) => {
      const cluster = await this.clusters.lockByName(m, name);
      if (cluster === undefined) {
        throw new ClusterError('ClusterNotFound', `Cluster "${name}" not found`);
      }
      const ciphertext = this.vault.encrypt(
        JSON.stringify(vetted),
        clusterKubeconfigAad(cluster.id),
      );
      await this.clusters.replaceCredentials(m, cluster.id, {
        apiServerUrl: vetted.server,
        insecureSkipTlsVerify: vetted.insecureSkipTlsVerify,
        kubeconfigCiphertext: ciphertext,
        kubeconfigKeyId: this.vault.keyIdOf(ciphertext),
      });
      this.events.publish(new ClusterChanged(cluster.id, cluster.name, 'endpoint'));
      return cluster.id;
    });
    this.clients.invalidate(id);
    this.probes.reset(id);
    this.logger.log({ msg: 'cluster kubeconfig rotated', cluster: name });
    await this.probes.probe(id);
    return this.getById(id);
  }

  async get(name: string): Promise<Cluster> {
    const cluster = await this.clusters.findByName(name);
    if (cluster === undefined) {
      throw new ClusterError('ClusterNotFound', `Cluster "${name}" not found`);
    }
    return cluster;
  }

  async getById(id: string): Promise<Cluster> {
    const cluster = await this.clusters.findById(id);
    if (cluster === undefined) {
      throw new ClusterError('ClusterNotFound', `Cluster ${id} not found`);
    }
    return cluster;
  }

  /** Clusters by id; ids of deleted clusters are absent. */
  async getByIds(ids: readonly string[]): Promise<Map<string, Cluster>> {
    const found = await this.clusters.findByIds([...new Set(ids)]);
    return new Map(found.map((c) => [c.id, c]));
  }

  /** Filtered, paginated list in name order (admin view). */
  async list(
    query: ClusterQuery,
    page: { limit: number; continue?: string },
  ): Promise<Page<Cluster>> {
    const filter = await this.toFilter(query);
    const digest = filterDigest({ list: 'clusters', ...query });
    const after = decodeContinueToken(page.continue, digest, 1);
    const rows = await this.clusters.list(filter, after?.[0], page.limit);
    return toPage(
      rows,
      page.limit,
      (c) => [c.name],
      digest,
      (c) => c,
    );
  }

  /** Clusters owned by a tenant (tenant-scoped). */
  async listOwnedBy(tenantId: string): Promise<Cluster[]> {
    return this.clusters.listOwnedBy(tenantId);
  }

  /** Merge-patches labels: a string sets a label, null removes it. */
  async patchLabels(
    name: string,
    patch: Readonly<Record<string, string | null>>,
  ): Promise<Cluster> {
    const id = await this.clusters.transaction(async (m) => {
      const cluster = await this.clusters.lockByName(m, name);
      if (cluster === undefined) {
        throw new ClusterError('ClusterNotFound', `Cluster "${name}" not found`);
      }
      const labels: Record<string, string> = { ...cluster.labels };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) {
          delete labels[k];
        } else {
          labels[k] = v;
        }
      }
      this.checkLabels(labels);
      await this.clusters.updateLabels(m, cluster.id, labels);
      if (!sameLabels(cluster.labels, labels)) {
        this.events.publish(new ClusterChanged(cluster.id, cluster.name, 'labels'));
      }
      return cluster.id;
    });
    return this.getById(id);
  }

  async delete(name: string): Promise<Cluster> {
    const cluster = await this.get(name);
    const deleted = await this.clusters.deleteByName(name);
    if (deleted === undefined) {
      throw new ClusterError('ClusterNotFound', `Cluster "${name}" not found`);
    }
    this.forget(deleted);
    this.events.publish(new ClusterChanged(deleted.id, deleted.name, 'deleted'));
    this.logger.log({ msg: 'cluster deleted', cluster: name });
    return cluster;
  }

  parseSelector(selector: string): LabelSelector {
    try {
      return parseLabelSelector(selector);
    } catch (error) {
      if (error instanceof LabelSelectorError) {
        throw new ClusterError('InvalidClusterQuery', `labelSelector: ${error.message}`, [
          { field: 'labelSelector', message: error.message },
        ]);
      }
      throw error;
    }
  }

  private forget(cluster: { id: string; name: string }): void {
    this.clients.invalidate(cluster.id);
    this.probes.forget(cluster);
  }

  private async toFilter(query: ClusterQuery): Promise<ClusterListFilter> {
    let ownerTenantId: string | null | undefined;
    if (query.owner === 'none') {
      ownerTenantId = null;
    } else if (query.owner !== undefined) {
      ownerTenantId = await this.tenantIdFor(query.owner, 'owner');
    }
    let condition: ClusterListFilter['condition'];
    if (query.condition !== undefined) {
      const m = /^(Ready|Reachable)=(True|False|Unknown)$/.exec(query.condition);
      if (m === null) {
        throw new ClusterError(
          'InvalidClusterQuery',
          'condition: must look like Ready=True or Reachable=False',
          [
            {
              field: 'condition',
              message: 'must be Ready or Reachable, =, and True, False or Unknown',
            },
          ],
        );
      }
      condition = { type: m[1], status: m[2] };
    }
    return {
      ...(query.labelSelector !== undefined
        ? { selector: this.parseSelector(query.labelSelector) }
        : {}),
      ...(ownerTenantId !== undefined ? { ownerTenantId } : {}),
      ...(condition !== undefined ? { condition } : {}),
    };
  }

  private async tenantIdFor(name: string, field = 'ownerTenant'): Promise<string> {
    try {
      return await this.tenants.idOf(name);
    } catch (error) {
      if (error instanceof TenantError && error.code === 'TenantNotFound') {
        throw new ClusterError('UnknownTenant', `${field}: tenant "${name}" does not exist`, [
          { field, message: 'no such tenant' },
        ]);
      }
      throw error;
    }
  }

  private checkLabels(labels: Readonly<Record<string, string>>): void {
    const problems = labelProblems(labels);
    if (problems.length > 0) {
      throw new ClusterError(
        'InvalidLabels',
        `Invalid labels: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
        problems,
      );
    }
  }

  private sanitize(input: KubeconfigUpload, policy: RegistrationPolicy): VettedKubeconfig {
    return sanitizeKubeconfig(input.kubeconfig, {
      ...(input.context !== undefined ? { context: input.context } : {}),
      allowPrivateAddresses: policy.allowPrivateAddresses,
      allowInsecureSkipTlsVerify: input.insecureSkipTlsVerify === true,
      allowProxyUrl: this.config.kubeconfigAllowProxyUrl,
      allowHttp: this.config.kubeconfigAllowHttp,
    });
  }
}

function sameLabels(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
