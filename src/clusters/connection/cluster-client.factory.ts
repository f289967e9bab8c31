import { Injectable, Logger } from '@nestjs/common';
import type {
  ApiConstructor,
  ApiType,
  Cluster as KubeCluster,
  User as KubeUser,
} from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { AppError } from 'src/common/errors/app-error';
import { ClusterRepository } from 'src/clusters/cluster.repository';
import { ClusterError } from 'src/clusters/clusters.errors';
import { addressProblem } from 'src/common/net/address-policy';
import { HostResolver } from 'src/common/net/host-resolver';
import {
  parseVettedKubeconfig,
  VettedKubeconfig,
} from 'src/clusters/kubeconfig/kubeconfig-sanitizer';
import { clusterKubeconfigAad } from 'src/common/vault/sealed-columns';
import { SecretVault } from 'src/common/vault/secret-vault';

export interface ClientOptions {
  /** Sets `Impersonate-User` (e.g. `system:serviceaccount:<ns>:<name>` from a tenant's grant). */
  readonly impersonateUser?: string;
}

interface CacheEntry {
  readonly version: number;
  readonly kubeConfig: KubeConfig;
}

/**
 * Builds @kubernetes/client-node clients for registered clusters from the
 * vetted kubeconfig subset only (never `loadFromString`). Clients are cached
 * per cluster and identity, keyed by the credentials version: a rotation
 * (version bump, seen by every replica through the database) drops the old
 * client. Decrypted material exists only inside the built KubeConfig.
 */
@Injectable()
export class ClusterClientFactory {
  private readonly logger = new Logger(ClusterClientFactory.name);
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly clusters: ClusterRepository,
    private readonly vault: SecretVault,
    private readonly resolver: HostResolver,
  ) {}

  /** A KubeConfig for the cluster; throws ClusterNotFound or CredentialsUnavailable, never returns an empty credential. */
  async kubeConfig(clusterId: string, options: ClientOptions = {}): Promise<KubeConfig> {
    const key = `${clusterId}|${options.impersonateUser ?? ''}`;
    const version = await this.clusters.credentialsVersion(clusterId);
    if (version === undefined) {
      this.invalidate(clusterId);
      throw new ClusterError('ClusterNotFound', `Cluster ${clusterId} not found`);
    }
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.version === version) {
      await this.checkAddress(cached.kubeConfig.getCurrentCluster()?.server);
      return cached.kubeConfig;
    }
    const stored = await this.clusters.loadCredentials(clusterId);
    if (stored === undefined) {
      throw new ClusterError('ClusterNotFound', `Cluster ${clusterId} not found`);
    }
    let vetted: VettedKubeconfig;
    try {
      vetted = parseVettedKubeconfig(
        this.vault.decryptString(stored.ciphertext, clusterKubeconfigAad(clusterId)),
      );
    } catch (error) {
      const code = error instanceof AppError ? error.code : 'Unknown';
      this.logger.error({ msg: 'cluster credentials cannot be used', clusterId, code });
      throw new ClusterError(
        'CredentialsUnavailable',
        `Credentials of cluster ${clusterId} cannot be decrypted (${code}); rotate its kubeconfig`,
      );
    }
    await this.checkAddress(vetted.server);
    const kubeConfig = buildKubeConfig(clusterId, vetted, options);
    // Drop every cached identity of an older version.
    for (const [k, entry] of this.cache) {
      if (k.startsWith(`${clusterId}|`) && entry.version !== stored.version) {
        this.cache.delete(k);
      }
    }
    this.cache.set(key, { version: stored.version, kubeConfig });
    return kubeConfig;
  }

  async client<T extends ApiType>(
    clusterId: string,
    api: ApiConstructor<T>,
    options: ClientOptions = {},
  ): Promise<T> {
    return (await this.kubeConfig(clusterId, options)).makeApiClient(api);
  }

  invalidate(clusterId: string): void {
    for (const k of this.cache.keys()) {
      if (k.startsWith(`${clusterId}|`)) {
        this.cache.delete(k);
      }
    }
  }

  /** Cached entries (for tests and diagnostics). */
  cachedVersions(clusterId: string): number[] {
    return [...this.cache.entries()]
      .filter(([k]) => k.startsWith(`${clusterId}|`))
      .map(([, e]) => e.version);
  }

  // Names are resolved at connect time too: a name that now points at a
  // metadata address (DNS rebinding after registration) is refused.
  private async checkAddress(server: string | undefined): Promise<void> {
    if (server === undefined) {
      throw new ClusterError('CredentialsUnavailable', 'Cluster has no server');
    }
    const host = new URL(server).hostname;
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(host);
    } catch {
      return; // Unresolvable: the connection fails on its own and the probe says so.
    }
    for (const address of addresses) {
      const problem = addressProblem(address, { allowPrivate: true });
      if (problem !== undefined) {
        throw new ClusterError('CredentialsUnavailable', `Cluster server ${problem}`);
      }
    }
  }
}

/** The only way gitfleet builds a KubeConfig: from vetted values, never from uploaded text. */
export function buildKubeConfig(
  clusterId: string,
  vetted: VettedKubeconfig,
  options: ClientOptions = {},
): KubeConfig {
  // Names are ours and unique per cluster: client-node caches some credentials by user name.
  const name = `gitfleet-${clusterId}`;
  const cluster: KubeCluster = {
    name,
    server: vetted.server.replace(/\/+$/, ''),
    skipTLSVerify: vetted.insecureSkipTlsVerify,
    ...(vetted.certificateAuthorityData !== undefined
      ? { caData: vetted.certificateAuthorityData }
      : {}),
    ...(vetted.tlsServerName !== undefined ? { tlsServerName: vetted.tlsServerName } : {}),
    ...(vetted.proxyUrl !== undefined ? { proxyUrl: vetted.proxyUrl } : {}),
  };
  const c = vetted.credentials;
  const user: KubeUser = {
    name,
    ...(c.kind === 'token'
      ? { token: c.token }
      : { certData: c.clientCertificateData, keyData: c.clientKeyData }),
    ...(options.impersonateUser !== undefined ? { impersonateUser: options.impersonateUser } : {}),
  };
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(cluster, user);
  return kc;
}
