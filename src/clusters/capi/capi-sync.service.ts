import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { AppError } from 'src/common/errors/app-error';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import type { Cluster } from 'src/clusters/cluster.types';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { ClustersService, RegistrationPolicy } from 'src/clusters/clusters.service';
import {
  capiReadiness,
  CapiClusterView,
  normalizeCapiCluster,
  registrableLabels,
  registryNameOf,
} from './capi-cluster';
import { CapiClusterRecord, CapiClusterRepository } from './capi-cluster.repository';
import { checkKubeconfigSecret, kubeconfigSecretName } from './kubeconfig-secret';
import type { Dict, ManagementApi } from './management-client';
import { decideTenant, needsNamespaceLabels, type TenantDecision } from './tenant-mapping';

export interface CapiRef {
  readonly namespace: string;
  readonly name: string;
}

const refKey = (ref: CapiRef): string => `${ref.namespace}/${ref.name}`;

// CAPI writes the kubeconfig; endpoints are commonly private (in-VPC) addresses.
// Metadata and link-local addresses stay refused by the sanitizer.
const CAPI_POLICY: RegistrationPolicy = { allowPrivateAddresses: true };

const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  KubeconfigRejected: 'KubeconfigRefused',
  UnknownTenant: 'TenantNotFound',
  ClusterQuotaExceeded: 'ClusterQuotaExceeded',
  ClusterNameTaken: 'NameTaken',
  InvalidLabels: 'InvalidLabels',
};

/**
 * Brings the registry in line with one Cluster API `Cluster`: registers it
 * once provisioned, keeps labels and credentials current, records phase,
 * conditions, pause and deletion, and removes the registration when the
 * object is gone. Idempotent: a sync of an unchanged object writes nothing.
 * The reconcile engine hears of joins, label changes and retirements through
 * the registry's ClusterChanged events, and of an unpause through `resumed`.
 */
@Injectable()
export class CapiSyncService {
  private readonly logger = new Logger(CapiSyncService.name);
  /**
   * Per Cluster API Cluster (`namespace/name`): the resourceVersion of the
   * kubeconfig Secret the last sync read and acted on (credentials rotated, or
   * the refusal recorded). A sync that is told the Secret still has that
   * version reads nothing: the Secret's data is fetched only when it changed.
   * In memory on purpose: after a restart (or a lease hand-over) the first
   * sync of each Cluster reads its Secret once, which also re-checks it.
   */
  private readonly secretReadAt = new Map<string, string>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clusters: ClustersService,
    private readonly records: CapiClusterRepository,
    private readonly events: DomainEventBus,
  ) {}

  /**
   * `object` undefined: the Cluster no longer exists (a DELETED event or absent from a successful list).
   * `secretVersion`: the kubeconfig Secret's resourceVersion as last seen by the
   * metadata-only Secret watch; undefined when unknown, which always reads it.
   */
  async sync(
    api: ManagementApi,
    ref: CapiRef,
    object: Dict | undefined,
    secretVersion?: string,
  ): Promise<void> {
    const previous = await this.records.findByRef(ref.namespace, ref.name);
    if (object === undefined) {
      this.secretReadAt.delete(refKey(ref));
      await this.gone(ref, previous);
      return;
    }
    const view = normalizeCapiCluster(object);
    const record = await this.records.observe(view, previous);
    const wasHeld = previous !== undefined && (previous.paused || previous.deleting);
    if (record.clusterId === null) {
      await this.registerIfReady(api, view, record);
      return;
    }
    const cluster = await this.clusters.getById(record.clusterId);
    if (view.deleting) {
      if (previous?.deleting !== true) {
        this.logger.log({
          msg: 'Cluster API Cluster is being deleted: its targets stop, nothing is pruned',
          capiCluster: `${ref.namespace}/${ref.name}`,
          cluster: cluster.name,
        });
      }
      return;
    }
    await this.updateLabels(view, cluster);
    await this.updateCredentials(api, view, record, cluster, secretVersion);
    if (view.paused !== (previous?.paused ?? false)) {
      this.logger.log({
        msg: view.paused
          ? 'Cluster API Cluster paused: its targets are held'
          : 'Cluster API Cluster unpaused: its targets resume',
        capiCluster: `${ref.namespace}/${ref.name}`,
        cluster: cluster.name,
      });
    }
    if (wasHeld && !view.paused) {
      this.events.publish(new ClusterChanged(cluster.id, cluster.name, 'resumed'));
    }
  }

  private async gone(ref: CapiRef, record: CapiClusterRecord | undefined): Promise<void> {
    if (record === undefined) {
      return;
    }
    if (record.clusterId !== null && record.clusterName !== null) {
      // The registration goes; its targets go with it (cascade), nothing is pruned: the cluster is gone.
      try {
        await this.clusters.delete(record.clusterName);
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'ClusterNotFound')) {
          throw error;
        }
      }
      this.logger.log({
        msg: 'Cluster API Cluster is gone: registration removed',
        capiCluster: `${ref.namespace}/${ref.name}`,
        cluster: record.clusterName,
      });
    }
    await this.records.delete(record.id);
  }

  private async registerIfReady(
    api: ManagementApi,
    view: CapiClusterView,
    record: CapiClusterRecord,
  ): Promise<void> {
    const readiness = capiReadiness(view);
    if (!readiness.ready) {
      await this.note(record, 'False', readiness.reason, readiness.message, 'debug');
      return;
    }
    // Not registered while paused: a paused Cluster must see no writes, even before its hold is recorded.
    if (view.paused) {
      await this.note(record, 'False', 'Paused', 'the Cluster is paused', 'log');
      return;
    }
    const owner = await this.ownerOf(api, view.namespace);
    if (owner.kind === 'ignore') {
      await this.note(
        record,
        'False',
        'NamespaceNotMapped',
        `namespace ${view.namespace} is mapped to no tenant and CAPI_UNMAPPED_NAMESPACES is ignore`,
        'log',
      );
      return;
    }
    const secret = await this.readSecret(api, view, record);
    if (secret === undefined) {
      return;
    }
    const name = registryNameOf(view.namespace, view.name);
    const existing = await this.clusters.get(name).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'ClusterNotFound') {
        return undefined;
      }
      throw error;
    });
    if (existing !== undefined) {
      // Registered by an earlier sync that stopped before linking: adopt it, refresh its credentials.
      const linked = await this.records.findByClusterId(existing.id);
      if (existing.source !== 'capi' || linked !== undefined) {
        await this.note(
          record,
          'False',
          'NameTaken',
          `a cluster named "${name}" is already registered ${existing.source === 'capi' ? 'from another Cluster' : 'manually'}`,
          'warn',
        );
        return;
      }
      await this.records.link(record.id, existing.id, '');
      await this.sync(api, view, await this.refetch(api, view));
      return;
    }
    const { labels, dropped } = registrableLabels(view.labels);
    let cluster: Cluster;
    try {
      cluster = await this.clusters.register(
        {
          name,
          kubeconfig: secret.kubeconfig,
          labels,
          source: 'capi',
          ...(owner.kind === 'tenant' ? { ownerTenant: owner.tenant } : {}),
        },
        CAPI_POLICY,
      );
    } catch (error) {
      if (error instanceof AppError && REFUSAL_REASONS[error.code] !== undefined) {
        await this.note(record, 'False', REFUSAL_REASONS[error.code], error.message, 'warn');
        return;
      }
      throw error;
    }
    await this.records.link(record.id, cluster.id, secret.resourceVersion);
    this.secretReadAt.set(refKey(view), secret.resourceVersion);
    await this.note(
      record,
      'True',
      'Registered',
      `registered as cluster "${name}"${owner.kind === 'tenant' ? ` owned by tenant "${owner.tenant}"` : ' (platform)'}`,
      'log',
    );
    if (dropped.length > 0) {
      this.logger.warn({
        msg: 'Cluster API labels not carried over (not valid gitfleet labels)',
        cluster: name,
        labels: dropped,
      });
    }
  }

  private async updateLabels(view: CapiClusterView, cluster: Cluster): Promise<void> {
    const { labels } = registrableLabels(view.labels);
    const patch: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(labels)) {
      if (cluster.labels[k] !== v) {
        patch[k] = v;
      }
    }
    for (const k of Object.keys(cluster.labels)) {
      if (labels[k] === undefined) {
        patch[k] = null;
      }
    }
    if (Object.keys(patch).length === 0) {
      return;
    }
    await this.clusters.patchLabels(cluster.name, patch);
    this.logger.log({
      msg: 'Cluster API labels changed: cluster labels updated',
      cluster: cluster.name,
      keys: Object.keys(patch),
    });
  }

  private async updateCredentials(
    api: ManagementApi,
    view: CapiClusterView,
    record: CapiClusterRecord,
    cluster: Cluster,
    secretVersion: string | undefined,
  ): Promise<void> {
    const key = refKey(view);
    if (secretVersion !== undefined && this.secretReadAt.get(key) === secretVersion) {
      // Unchanged since the last read: its outcome (rotated, or refused) is already recorded.
      return;
    }
    this.secretReadAt.delete(key);
    const secret = await this.readSecret(
      api,
      view,
      record,
      ' (the last accepted credentials stay)',
    );
    if (secret === undefined) {
      return;
    }
    if (secret.resourceVersion !== record.secretResourceVersion) {
      try {
        await this.clusters.rotateKubeconfig(
          cluster.name,
          { kubeconfig: secret.kubeconfig },
          CAPI_POLICY,
        );
      } catch (error) {
        if (error instanceof AppError && error.code === 'KubeconfigRejected') {
          await this.note(
            record,
            'False',
            'KubeconfigRefused',
            `${error.message} (the last accepted credentials stay)`,
            'warn',
          );
          this.secretReadAt.set(key, secret.resourceVersion);
          return;
        }
        throw error;
      }
      await this.records.setSecretVersion(record.id, secret.resourceVersion);
      this.logger.log({
        msg: 'Cluster API kubeconfig Secret changed: credentials rotated',
        cluster: cluster.name,
      });
    }
    await this.note(
      record,
      'True',
      'Registered',
      `registered as cluster "${cluster.name}"`,
      'debug',
    );
    this.secretReadAt.set(key, secret.resourceVersion);
  }

  /** The checked kubeconfig Secret, or undefined with the reason recorded. */
  private async readSecret(
    api: ManagementApi,
    view: CapiClusterView,
    record: CapiClusterRecord,
    suffix = '',
  ): Promise<{ kubeconfig: string; resourceVersion: string } | undefined> {
    const secretName = kubeconfigSecretName(view.name);
    const secret = await api.get(
      `/api/v1/namespaces/${encodeURIComponent(view.namespace)}/secrets/${encodeURIComponent(secretName)}`,
    );
    if (secret === undefined) {
      await this.note(
        record,
        'False',
        'KubeconfigSecretMissing',
        `waiting for Secret ${secretName}${suffix}`,
        'log',
      );
      return undefined;
    }
    const checked = checkKubeconfigSecret(secret, view.name);
    if (!checked.ok) {
      await this.note(record, 'False', checked.reason, `${checked.message}${suffix}`, 'warn');
      return undefined;
    }
    return checked;
  }

  private async ownerOf(api: ManagementApi, namespace: string): Promise<TenantDecision> {
    let labels: Record<string, string> = {};
    if (needsNamespaceLabels(namespace, this.config)) {
      // A namespace that cannot be read fails the sync (retried): never a platform cluster by default.
      const ns = await api.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
      const meta = (ns?.metadata ?? {}) as { labels?: Record<string, string> };
      labels = meta.labels ?? {};
    }
    return decideTenant(namespace, labels, this.config);
  }

  private async refetch(api: ManagementApi, view: CapiClusterView): Promise<Dict | undefined> {
    const [group, version] = view.apiVersion.split('/');
    return api.get(
      `/apis/${group}/${version}/namespaces/${encodeURIComponent(view.namespace)}/clusters/${encodeURIComponent(view.name)}`,
    );
  }

  /** Records why the Cluster is (not) registered; logs only when that changed. */
  private async note(
    record: CapiClusterRecord,
    status: 'True' | 'False',
    reason: string,
    message: string,
    level: 'debug' | 'log' | 'warn',
  ): Promise<void> {
    const changed = await this.records.setRegistration(record, { status, reason, message });
    if (changed) {
      this.logger[level]({
        msg: `Cluster API Cluster ${status === 'True' ? 'registered' : 'not registered'}: ${reason}`,
        capiCluster: `${record.namespace}/${record.name}`,
        reason,
        detail: message,
      });
    }
  }
}
