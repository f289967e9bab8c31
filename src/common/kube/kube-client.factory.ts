import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiClient, type KubeClientOptions, type KubeConnection } from './kube-api.client';

/**
 * The allow-listed connection of a KubeConfig built by the registry from a
 * vetted kubeconfig (current cluster and user only). Never logged.
 */
export function kubeConnectionOf(kc: KubeConfig): KubeConnection {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (cluster === null || user === null) {
    throw new Error('cluster connection has no cluster or user');
  }
  return {
    server: cluster.server,
    caData: cluster.caData,
    tlsServerName: cluster.tlsServerName,
    certData: user.certData,
    keyData: user.keyData,
    token: user.token,
    insecureSkipTlsVerify: cluster.skipTLSVerify,
  };
}

/** The one way gitfleet builds a Kubernetes API client for a registered cluster. */
export function createKubeApiClient(
  kc: KubeConfig,
  options: KubeClientOptions = {},
): KubeApiClient {
  return new KubeApiClient(kubeConnectionOf(kc), options);
}
