import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from 'src/common/config/config';
import { sanitizeKubeconfig } from 'src/clusters/kubeconfig/kubeconfig-sanitizer';

/** How gitfleet reaches the management cluster. Never logged. */
export interface ManagementConnection {
  /** `https://host:port`. */
  readonly server: string;
  readonly caPem?: string;
  readonly tlsServerName?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  /** The bearer token to send now (the in-cluster token file is re-read: kubelet rotates it). */
  token(): string | undefined;
  /** For logs: where the connection came from. */
  readonly origin: 'MANAGEMENT_KUBECONFIG' | 'in-cluster service account';
}

export type ConnectionResolution =
  | { readonly kind: 'connected'; readonly connection: ManagementConnection }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly message: string };

/** File reads are injectable so small tests need no real files. */
export type ReadFile = (path: string) => string;
const readText: ReadFile = (path) => readFileSync(path, 'utf8');

const MAX_KUBECONFIG_BYTES = 128 * 1024;

/**
 * Picks the management-cluster connection: `MANAGEMENT_KUBECONFIG` when set
 * (development), else the pod's service account when `KUBERNETES_SERVICE_HOST`
 * is set, else none (Cluster API discovery is off).
 *
 * The kubeconfig file is operator-provided, yet it goes through the same
 * allow-list as uploads (inline token or client certificate, no exec, no
 * auth-provider, no file references): a kubeconfig copied from a laptop often
 * carries exec plugins, and gitfleet never runs programs on a config's say.
 */
export function resolveManagementConnection(
  config: Pick<
    AppConfig,
    | 'managementKubeconfig'
    | 'kubernetesServiceHost'
    | 'kubernetesServicePort'
    | 'managementServiceAccountDir'
  >,
  read: ReadFile = readText,
): ConnectionResolution {
  if (config.managementKubeconfig !== undefined) {
    let text: string;
    try {
      text = read(config.managementKubeconfig);
    } catch (error) {
      return {
        kind: 'invalid',
        message: `MANAGEMENT_KUBECONFIG cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
    if (Buffer.byteLength(text) > MAX_KUBECONFIG_BYTES) {
      return { kind: 'invalid', message: 'MANAGEMENT_KUBECONFIG is too large' };
    }
    try {
      const vetted = sanitizeKubeconfig(text, {
        allowPrivateAddresses: true,
        allowInsecureSkipTlsVerify: false,
        allowProxyUrl: false,
        allowHttp: false,
      });
      const c = vetted.credentials;
      const pem = (b64: string | undefined): string | undefined =>
        b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
      return {
        kind: 'connected',
        connection: {
          server: vetted.server.replace(/\/+$/, ''),
          ...(vetted.certificateAuthorityData !== undefined
            ? { caPem: pem(vetted.certificateAuthorityData) }
            : {}),
          ...(vetted.tlsServerName !== undefined ? { tlsServerName: vetted.tlsServerName } : {}),
          ...(c.kind === 'clientCertificate'
            ? { certPem: pem(c.clientCertificateData), keyPem: pem(c.clientKeyData) }
            : {}),
          token: () => (c.kind === 'token' ? c.token : undefined),
          origin: 'MANAGEMENT_KUBECONFIG',
        },
      };
    } catch (error) {
      return {
        kind: 'invalid',
        message: `MANAGEMENT_KUBECONFIG refused: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  if (config.kubernetesServiceHost === undefined) {
    return { kind: 'none' };
  }
  const dir = config.managementServiceAccountDir;
  let caPem: string;
  let firstToken: string;
  try {
    caPem = read(join(dir, 'ca.crt'));
    firstToken = read(join(dir, 'token')).trim();
  } catch {
    return { kind: 'none' };
  }
  const host = config.kubernetesServiceHost.includes(':')
    ? `[${config.kubernetesServiceHost}]`
    : config.kubernetesServiceHost;
  let last = firstToken;
  return {
    kind: 'connected',
    connection: {
      server: `https://${host}:${config.kubernetesServicePort}`,
      caPem,
      token: () => {
        try {
          last = read(join(dir, 'token')).trim() || last;
        } catch {
          // Keep the last token: the kubelet replaces the file atomically, a failed read is transient.
        }
        return last;
      },
      origin: 'in-cluster service account',
    },
  };
}
