import { hostProblem } from 'src/common/net/address-policy';
import { isAbsolute, resolve } from 'node:path';
import { DNS_LABEL_PATTERN as DNS_LABEL } from 'src/common/validation/names';

/**
 * Typed, validated configuration. Every environment variable gitfleet reads is
 * declared here, documented in README.md, and read nowhere else.
 */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** Absent: the service runs on an embedded PostgreSQL in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  readonly embeddedDatabasePort: number;
  readonly adminToken: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly requestBodyLimitBytes: number;
  /** Key-encryption keys of the secret vault; empty only on the embedded default (generated then). */
  readonly encryptionKeys: readonly EncryptionKeyConfig[];
  /** Id of the key new ciphertexts are written with; undefined exactly when no keys are configured. */
  readonly encryptionActiveKeyId: string | undefined;
  readonly clusterProbeIntervalSeconds: number;
  readonly clusterProbeTimeoutSeconds: number;
  readonly clusterProbeConcurrency: number;
  /** Kill switch of the cluster probe loop. */
  readonly clusterProbeEnabled: boolean;
  readonly kubeconfigAllowProxyUrl: boolean;
  readonly kubeconfigAllowHttp: boolean;
  readonly sourceFetchConcurrency: number;
  readonly sourceSchedulerIntervalMs: number;
  /** Kill switch of the source scheduler (claims due sources). */
  readonly sourceSchedulerEnabled: boolean;
  readonly sourceFetchBackoffBaseSeconds: number;
  readonly sourceFetchBackoffMaxSeconds: number;
  readonly sourceAllowHttp: boolean;
  readonly sourceCacheMaxBytes: number;
  readonly sourceSymlinkPolicy: 'fail' | 'remove';
  readonly sourceMaxRepositoryBytes: number;
  readonly sourceMaxFileCount: number;
  readonly sourceMaxFileBytes: number;
  readonly reconcileEnabled: boolean;
  readonly reconcileConcurrency: number;
  readonly reconcilePerClusterConcurrency: number;
  readonly reconcileLeaseSeconds: number;
  readonly reconcilePollIntervalMs: number;
  readonly reconcileResyncSeconds: number;
  /**
   * Kill switches of the loops of the reconcile engine; each is already off when
   * `reconcileEnabled` is (the value here is the effective one).
   */
  readonly reconcileWorkerEnabled: boolean;
  readonly reconcileResyncEnabled: boolean;
  readonly tenantDeletionEnabled: boolean;
  readonly onboardingResyncEnabled: boolean;
  readonly renderConcurrency: number;
  readonly renderTimeoutSeconds: number;
  readonly renderMaxObjects: number;
  /** Flux's StrictPostBuildSubstitutions feature gate. */
  readonly strictPostBuildSubstitutions: boolean;
  readonly kubectlPath: string | undefined;
  readonly helmPath: string | undefined;
  /** Absent: OIDC sign-in is off (only the admin token and tenant API tokens authenticate). */
  readonly oidcIssuerUrl: string | undefined;
  readonly oidcAudience: string | undefined;
  readonly oidcUsernameClaim: string;
  readonly oidcGroupsClaim: string;
  readonly oidcAllowedAlgorithms: readonly string[];
  readonly oidcClockSkewSeconds: number;
  readonly oidcJwksMinRefreshSeconds: number;
  readonly oidcAllowInsecureIssuer: boolean;
  readonly adminGroups: readonly string[];
  readonly tenantClusterAllowPrivateAddresses: boolean;
  readonly tenantClusterRole: string;
  readonly authFailuresPerMinute: number;
  /** In-cluster API server address (set by Kubernetes in every pod). */
  readonly kubernetesServiceHost: string | undefined;
  readonly kubernetesServicePort: number;
  /** Directory of the pod's service account token and CA. */
  readonly managementServiceAccountDir: string;
  /** Path of an operator-provided kubeconfig of the management cluster (development). */
  readonly managementKubeconfig: string | undefined;
  readonly capiDiscoveryEnabled: boolean;
  /** Namespaces watched for Cluster API Clusters; empty: all. */
  readonly capiNamespaces: readonly string[];
  readonly capiTenantNamespaceLabel: string;
  /** Management namespace → tenant name; wins over the namespace label. */
  readonly capiTenantNamespaces: Readonly<Record<string, string>>;
  readonly capiUnmappedNamespaces: 'platform' | 'ignore';
  readonly capiLeaseSeconds: number;
  readonly capiStartupSpreadSeconds: number;
  readonly capiResyncSeconds: number;
}

/** One key-encryption key: an id stored beside every ciphertext and 32 bytes of key (base64). */
export interface EncryptionKeyConfig {
  readonly id: string;
  readonly keyBase64: string;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ConfigVariable {
  readonly name: string;
  readonly defaultValue: string | undefined;
  readonly secret: boolean;
  readonly description: string;
}

/** Raised once with every problem found, so an operator fixes them in one go. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

class Reader {
  readonly problems: string[] = [];
  readonly variables: ConfigVariable[] = [];

  constructor(private readonly env: Env) {}

  private raw(variable: ConfigVariable): string | undefined {
    this.variables.push(variable);
    const value = this.env[variable.name];
    return value === undefined || value === '' ? variable.defaultValue : value;
  }

  // Problems never quote a secret's value, only its name.
  private fail(variable: ConfigVariable, reason: string, value: string): void {
    const shown = variable.secret ? '' : ` (got "${value}")`;
    this.problems.push(`${variable.name}: ${reason}${shown}`);
  }

  string(variable: ConfigVariable, check?: (v: string) => string | undefined): string | undefined {
    const value = this.raw(variable);
    if (value === undefined) {
      return undefined;
    }
    const problem = check?.(value);
    if (problem !== undefined) {
      this.fail(variable, problem, value);
      return undefined;
    }
    return value;
  }

  integer(variable: ConfigVariable, min: number, max: number): number {
    const value = this.raw(variable) ?? '';
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.fail(variable, `must be an integer between ${min} and ${max}`, value);
      return min;
    }
    return parsed;
  }

  oneOf<T extends string>(variable: ConfigVariable, allowed: readonly T[]): T {
    const value = this.raw(variable) ?? '';
    if (!(allowed as readonly string[]).includes(value)) {
      this.fail(variable, `must be one of ${allowed.join(', ')}`, value);
      return allowed[0];
    }
    return value as T;
  }
}

const v = (
  name: string,
  defaultValue: string | undefined,
  description: string,
  secret = false,
): ConfigVariable => ({ name, defaultValue, description, secret });

export const CONFIG_VARIABLES = {
  port: v('PORT', '8080', 'HTTP port of the API, health and metrics endpoints.'),
  host: v('HOST', '0.0.0.0', 'Address the HTTP server binds to.'),
  logLevel: v('LOG_LEVEL', 'info', 'Minimum log level: debug, info, warn or error.'),
  databaseUrl: v(
    'DATABASE_URL',
    undefined,
    'PostgreSQL connection URL (`postgres://user:pass@host:5432/db`). Unset: an embedded single-replica PostgreSQL is started in `GITFLEET_DATA_DIR` (development only).',
    true,
  ),
  databasePoolSize: v('DATABASE_POOL_SIZE', '20', 'Maximum PostgreSQL connections per replica.'),
  dataDir: v(
    'GITFLEET_DATA_DIR',
    '.data',
    'Directory for local state: the embedded database, the artifact cache. Relative paths are resolved against the working directory.',
  ),
  embeddedDatabasePort: v(
    'EMBEDDED_DATABASE_PORT',
    '54329',
    'Loopback port of the embedded PostgreSQL (only used without `DATABASE_URL`).',
  ),
  adminToken: v(
    'GITFLEET_ADMIN_TOKEN',
    undefined,
    'Bearer token that authenticates as platform admin on admin routes (at least 32 characters). Unset: no token access.',
    true,
  ),
  shutdownTimeoutMs: v(
    'SHUTDOWN_TIMEOUT_MS',
    '15000',
    'Upper bound for a graceful shutdown after SIGTERM before the process exits anyway.',
  ),
  requestBodyLimitBytes: v(
    'REQUEST_BODY_LIMIT_BYTES',
    '1048576',
    'Largest accepted JSON request body; larger bodies get 413.',
  ),
  encryptionKeys: v(
    'GITFLEET_ENCRYPTION_KEYS',
    undefined,
    'Key-encryption keys of the secret vault (kubeconfigs, repository credentials): `id1:base64key,id2:base64key`, each key 32 random bytes in base64 (`openssl rand -base64 32`), ids of letters, digits, `-` and `_`. Required with `DATABASE_URL`; unset on the embedded default, a key is generated once and stored 0600 in `GITFLEET_DATA_DIR`.',
    true,
  ),
  encryptionActiveKeyId: v(
    'GITFLEET_ENCRYPTION_ACTIVE_KEY',
    undefined,
    'Id of the key in `GITFLEET_ENCRYPTION_KEYS` new secrets are encrypted with; optional when only one key is listed. After changing it run `npm run vault:rotate`, then the old key can be removed.',
  ),
  clusterProbeIntervalSeconds: v(
    'CLUSTER_PROBE_INTERVAL_SECONDS',
    '30',
    "How often every cluster's `GET /version` is probed to keep its `Reachable` and `Ready` conditions current (failing clusters back off up to 10 intervals).",
  ),
  clusterProbeTimeoutSeconds: v(
    'CLUSTER_PROBE_TIMEOUT_SECONDS',
    '5',
    'Timeout of one cluster probe; a cluster not answering in time is marked not reachable.',
  ),
  clusterProbeConcurrency: v(
    'CLUSTER_PROBE_CONCURRENCY',
    '10',
    'Maximum number of cluster probes in flight at once per replica.',
  ),
  clusterProbeEnabled: v(
    'CLUSTER_PROBE_ENABLED',
    'true',
    'Kill switch of the cluster probe loop (`true`/`false`). Off: no replica-side probes and no reachability gauges from this replica.',
  ),
  kubeconfigAllowProxyUrl: v(
    'GITFLEET_KUBECONFIG_ALLOW_PROXY_URL',
    'false',
    'Accept `proxy-url` in uploaded kubeconfigs (`true`/`false`). Off by default: a proxy redirects cluster traffic.',
  ),
  kubeconfigAllowHttp: v(
    'GITFLEET_KUBECONFIG_ALLOW_HTTP',
    'false',
    'Accept `http://` API servers in uploaded kubeconfigs (`true`/`false`); such a registration must also opt in to skipping TLS verification. Off by default.',
  ),
  sourceFetchConcurrency: v(
    'SOURCE_FETCH_CONCURRENCY',
    '4',
    'Maximum number of source fetches (git/helm) running at once per replica.',
  ),
  sourceSchedulerIntervalMs: v(
    'SOURCE_SCHEDULER_INTERVAL_MS',
    '5000',
    'How often each replica looks for due sources to claim (milliseconds). An on-demand refresh is picked up at once on the replica that received it.',
  ),
  sourceSchedulerEnabled: v(
    'SOURCE_SCHEDULER_ENABLED',
    'true',
    'Kill switch of the source scheduler (`true`/`false`). Off: this replica claims and fetches no due sources (on-demand refreshes included).',
  ),
  sourceFetchBackoffBaseSeconds: v(
    'SOURCE_FETCH_BACKOFF_BASE_SECONDS',
    '5',
    'Delay before retrying a source after its first failed fetch; doubled per further failure, with jitter.',
  ),
  sourceFetchBackoffMaxSeconds: v(
    'SOURCE_FETCH_BACKOFF_MAX_SECONDS',
    '600',
    'Upper bound of the retry delay of a failing source (a `Retry-After` from the host may ask for longer, up to one day).',
  ),
  sourceAllowHttp: v(
    'SOURCE_ALLOW_HTTP',
    'false',
    'Accept plain `http://` repository URLs (`true`/`false`). Off by default: credentials and content would travel unprotected.',
  ),
  sourceCacheMaxBytes: v(
    'SOURCE_CACHE_MAX_BYTES',
    '2147483648',
    'Upper bound of the artifact cache in `GITFLEET_DATA_DIR/artifacts`; least recently used artifacts that no source currently serves are removed above it.',
  ),
  sourceSymlinkPolicy: v(
    'SOURCE_SYMLINK_POLICY',
    'fail',
    'What a fetch does with a symlink pointing outside the repository: `fail` the fetch, or `remove` the link. Such links are never followed.',
  ),
  sourceMaxRepositoryBytes: v(
    'SOURCE_MAX_REPOSITORY_BYTES',
    '268435456',
    'Largest total size of the files of one fetched revision; above it the fetch fails with `LimitExceeded`.',
  ),
  sourceMaxFileCount: v(
    'SOURCE_MAX_FILE_COUNT',
    '20000',
    'Largest number of files in one fetched revision.',
  ),
  sourceMaxFileBytes: v(
    'SOURCE_MAX_FILE_BYTES',
    '16777216',
    'Largest single file in one fetched revision.',
  ),
  reconcileEnabled: v(
    'RECONCILE_ENABLED',
    'true',
    'Run the reconcile engine on this replica (`true`/`false`); `false` serves the API only.',
  ),
  reconcileConcurrency: v(
    'RECONCILE_CONCURRENCY',
    '128',
    'Targets reconciled at once by one replica.',
  ),
  reconcilePerClusterConcurrency: v(
    'RECONCILE_PER_CLUSTER_CONCURRENCY',
    '8',
    'Targets of one cluster reconciled at once by one replica, so a slow cluster cannot take every slot.',
  ),
  reconcileLeaseSeconds: v(
    'RECONCILE_LEASE_SECONDS',
    '60',
    'Lease on a claimed target; renewed while the reconcile runs, taken over by another replica after expiry.',
  ),
  reconcilePollIntervalMs: v(
    'RECONCILE_POLL_INTERVAL_MS',
    '1000',
    'How often an idle replica looks for due targets.',
  ),
  reconcileResyncSeconds: v(
    'RECONCILE_RESYNC_SECONDS',
    '30',
    "How often every release's clusters are re-selected (labels, grants), by one replica at a time.",
  ),
  reconcileWorkerEnabled: v(
    'RECONCILE_WORKER_ENABLED',
    'true',
    'Kill switch of the reconcile worker (`true`/`false`): off, this replica claims no targets. Off as well when `RECONCILE_ENABLED=false`.',
  ),
  reconcileResyncEnabled: v(
    'RECONCILE_RESYNC_ENABLED',
    'true',
    'Kill switch of the periodic re-selection of release targets every `RECONCILE_RESYNC_SECONDS` (`true`/`false`). Off as well when `RECONCILE_ENABLED=false`.',
  ),
  tenantDeletionEnabled: v(
    'TENANT_DELETION_ENABLED',
    'true',
    'Kill switch of the cascading tenant deletion loop (`true`/`false`): off, this replica does not carry deletions forward. Off as well when `RECONCILE_ENABLED=false`.',
  ),
  onboardingResyncEnabled: v(
    'ONBOARDING_RESYNC_ENABLED',
    'true',
    'Kill switch of the periodic re-onboarding of every grant (drift repair, `true`/`false`); grant changes are still onboarded at once. Off as well when `RECONCILE_ENABLED=false`.',
  ),
  renderConcurrency: v(
    'RENDER_CONCURRENCY',
    '4',
    'Kustomize and helm processes running at once per replica.',
  ),
  renderTimeoutSeconds: v(
    'RENDER_TIMEOUT_SECONDS',
    '60',
    'A kustomize or helm process running longer is killed and the render fails.',
  ),
  renderMaxObjects: v(
    'RENDER_MAX_OBJECTS',
    '5000',
    'Largest number of objects one render may produce.',
  ),
  strictPostBuildSubstitutions: v(
    'STRICT_POST_BUILD_SUBSTITUTIONS',
    'false',
    "Flux's StrictPostBuildSubstitutions gate (`true`/`false`): under a release's postBuild, a `${var}` without value and without default fails the render instead of becoming empty.",
  ),
  kubectlPath: v(
    'KUBECTL_PATH',
    undefined,
    'kubectl binary used for `kubectl kustomize`. Unset: the pinned binary in `.tools/bin` extracted by `npm ci`.',
  ),
  helmPath: v(
    'HELM_PATH',
    undefined,
    'helm binary used for `helm template`. Unset: the pinned binary in `.tools/bin`.',
  ),
  oidcIssuerUrl: v(
    'OIDC_ISSUER_URL',
    undefined,
    'Issuer of the OpenID provider whose bearer tokens (JWT access or ID tokens) sign users in; discovered at `<issuer>/.well-known/openid-configuration`. `https://` only (see `OIDC_ALLOW_INSECURE_ISSUER`); link-local and cloud metadata addresses are refused. Unset: OIDC sign-in is off.',
  ),
  oidcAudience: v(
    'OIDC_AUDIENCE',
    undefined,
    'Audience (`aud`) a token must carry to be accepted, e.g. the client id or API identifier registered for gitfleet. Required with `OIDC_ISSUER_URL`.',
  ),
  oidcUsernameClaim: v(
    'OIDC_USERNAME_CLAIM',
    'sub',
    'Claim holding the user name matched against `user` role bindings (e.g. `sub`, `email`, `preferred_username`).',
  ),
  oidcGroupsClaim: v(
    'OIDC_GROUPS_CLAIM',
    'groups',
    'Claim holding the list of groups matched against `group` role bindings and `GITFLEET_ADMIN_GROUPS`. A token without it has no group-derived access.',
  ),
  oidcAllowedAlgorithms: v(
    'OIDC_ALLOWED_ALGORITHMS',
    'RS256,ES256',
    'Comma-separated JWS algorithms accepted on tokens: asymmetric only (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA); `none` and HMAC are never accepted.',
  ),
  oidcClockSkewSeconds: v(
    'OIDC_CLOCK_SKEW_SECONDS',
    '30',
    'Tolerance applied to `exp`, `nbf` and `iat` of tokens (0-300).',
  ),
  oidcJwksMinRefreshSeconds: v(
    'OIDC_JWKS_MIN_REFRESH_SECONDS',
    '30',
    "Least time between two fetches of the issuer's JWKS when a token names an unknown key id (rotation), so forged key ids cannot hammer the issuer.",
  ),
  oidcAllowInsecureIssuer: v(
    'OIDC_ALLOW_INSECURE_ISSUER',
    'false',
    'Development only (`true`/`false`): accept an `http://` issuer.',
  ),
  adminGroups: v(
    'GITFLEET_ADMIN_GROUPS',
    undefined,
    'Comma-separated OIDC groups whose members are platform admins (everything, every tenant). Empty: only `GITFLEET_ADMIN_TOKEN` is admin.',
  ),
  tenantClusterAllowPrivateAddresses: v(
    'GITFLEET_TENANT_CLUSTERS_ALLOW_PRIVATE_ADDRESSES',
    'false',
    'Accept loopback and private API server addresses in clusters tenants register themselves (`true`/`false`). Link-local and metadata addresses are always refused.',
  ),
  tenantClusterRole: v(
    'GITFLEET_TENANT_CLUSTER_ROLE',
    'admin',
    "ClusterRole bound (by a RoleBinding per granted namespace) to a tenant's service account in workload clusters when a grant is onboarded.",
  ),
  authFailuresPerMinute: v(
    'AUTH_FAILURES_PER_MINUTE',
    '30',
    'Failed authentications accepted per client address and minute; beyond it requests get 429 until the window passes.',
  ),
  kubernetesServiceHost: v(
    'KUBERNETES_SERVICE_HOST',
    undefined,
    'Set by Kubernetes in every pod. With the service account token in `MANAGEMENT_SERVICE_ACCOUNT_DIR`, gitfleet watches Cluster API in the cluster it runs in.',
  ),
  kubernetesServicePort: v(
    'KUBERNETES_SERVICE_PORT',
    '443',
    'Set by Kubernetes in every pod: port of the in-cluster API server.',
  ),
  managementServiceAccountDir: v(
    'MANAGEMENT_SERVICE_ACCOUNT_DIR',
    '/var/run/secrets/kubernetes.io/serviceaccount',
    "Directory holding the pod's service account `token` (re-read before every request, so rotated tokens are used) and `ca.crt`.",
  ),
  managementKubeconfig: v(
    'MANAGEMENT_KUBECONFIG',
    undefined,
    'Path of a kubeconfig for the management cluster (development; wins over the in-cluster service account). Parsed with the same allow-list as uploaded kubeconfigs: a token or client certificate with inline data, no exec plugins, auth-providers or file references. Unset and not in a pod: no Cluster API discovery.',
  ),
  capiDiscoveryEnabled: v(
    'CAPI_DISCOVERY_ENABLED',
    'true',
    'Register the workload clusters Cluster API manages in the management cluster (`true`/`false`); needs a management cluster connection.',
  ),
  capiNamespaces: v(
    'CAPI_NAMESPACES',
    undefined,
    'Comma-separated management-cluster namespaces watched for Cluster API Clusters. Unset: all namespaces.',
  ),
  capiTenantNamespaceLabel: v(
    'CAPI_TENANT_NAMESPACE_LABEL',
    'gitfleet.dev/tenant',
    'Label on a management-cluster namespace naming the tenant that owns the Clusters in it.',
  ),
  capiTenantNamespaces: v(
    'CAPI_TENANT_NAMESPACES',
    undefined,
    'Owner tenants by management-cluster namespace, `namespace=tenant,namespace2=tenant2`; wins over the namespace label.',
  ),
  capiUnmappedNamespaces: v(
    'CAPI_UNMAPPED_NAMESPACES',
    'platform',
    'Clusters in a namespace mapped to no tenant: `platform` registers them as platform clusters, `ignore` leaves them out.',
  ),
  capiLeaseSeconds: v(
    'CAPI_LEASE_SECONDS',
    '30',
    'Lease of the one replica watching Cluster API; renewed every third of it, taken over by another replica after expiry.',
  ),
  capiStartupSpreadSeconds: v(
    'CAPI_STARTUP_SPREAD_SECONDS',
    '60',
    'Clusters found unregistered by the first list after start-up are registered spread over this window, so their first reconciles do not all start at once.',
  ),
  capiResyncSeconds: v(
    'CAPI_RESYNC_SECONDS',
    '600',
    'How often the watch relists everything and re-checks every Cluster, in case a change was missed.',
  ),
} as const satisfies Record<keyof AppConfig, ConfigVariable>;

function checkDatabaseUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL like postgres://user:password@host:5432/database';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return 'must use the postgres:// or postgresql:// scheme';
  }
  if (url.hostname === '' || url.pathname.length <= 1) {
    return 'must name a host and a database';
  }
  return undefined;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseEncryptionKeys(value: string): { keys: EncryptionKeyConfig[]; problem?: string } {
  const keys: EncryptionKeyConfig[] = [];
  for (const [index, entry] of value.split(',').entries()) {
    const separator = entry.indexOf(':');
    const id = separator < 0 ? '' : entry.slice(0, separator).trim();
    const keyBase64 = separator < 0 ? '' : entry.slice(separator + 1).trim();
    // Problems name the entry's position and id, never key material.
    if (!KEY_ID.test(id)) {
      return {
        keys,
        problem: `entry ${index + 1} must look like id:base64key with an id of letters, digits, - or _`,
      };
    }
    if (!BASE64.test(keyBase64) || Buffer.from(keyBase64, 'base64').length !== 32) {
      return { keys, problem: `key "${id}" must be 32 bytes, base64-encoded` };
    }
    if (keys.some((k) => k.id === id)) {
      return { keys, problem: `key id "${id}" is listed twice` };
    }
    keys.push({ id, keyBase64 });
  }
  return { keys };
}

export function loadConfig(env: Env, cwd: string = process.cwd()): AppConfig {
  const r = new Reader(env);
  const c = CONFIG_VARIABLES;
  const dataDir = r.string(c.dataDir) ?? '.data';
  const databaseUrl = r.string(c.databaseUrl, checkDatabaseUrl);
  const reconcileEnabled = flag(r, c.reconcileEnabled);
  const config: AppConfig = {
    port: r.integer(c.port, 0, 65535),
    host: r.string(c.host) ?? '0.0.0.0',
    logLevel: r.oneOf(c.logLevel, LOG_LEVELS),
    databaseUrl,
    databasePoolSize: r.integer(c.databasePoolSize, 1, 500),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    embeddedDatabasePort: r.integer(c.embeddedDatabasePort, 1, 65535),
    adminToken: r.string(c.adminToken, (t) =>
      t.length < 32 ? 'must be at least 32 characters long' : undefined,
    ),
    shutdownTimeoutMs: r.integer(c.shutdownTimeoutMs, 100, 600_000),
    requestBodyLimitBytes: r.integer(c.requestBodyLimitBytes, 1024, 64 * 1024 * 1024),
    ...readEncryptionKeys(
      r,
      env[c.databaseUrl.name] !== undefined && env[c.databaseUrl.name] !== '',
    ),
    clusterProbeIntervalSeconds: r.integer(c.clusterProbeIntervalSeconds, 1, 86_400),
    clusterProbeTimeoutSeconds: r.integer(c.clusterProbeTimeoutSeconds, 1, 300),
    clusterProbeConcurrency: r.integer(c.clusterProbeConcurrency, 1, 1000),
    clusterProbeEnabled: flag(r, c.clusterProbeEnabled),
    kubeconfigAllowProxyUrl: r.oneOf(c.kubeconfigAllowProxyUrl, ['false', 'true']) === 'true',
    kubeconfigAllowHttp: r.oneOf(c.kubeconfigAllowHttp, ['false', 'true']) === 'true',
    sourceFetchConcurrency: r.integer(c.sourceFetchConcurrency, 1, 256),
    sourceSchedulerIntervalMs: r.integer(c.sourceSchedulerIntervalMs, 100, 600_000),
    sourceSchedulerEnabled: flag(r, c.sourceSchedulerEnabled),
    sourceFetchBackoffBaseSeconds: r.integer(c.sourceFetchBackoffBaseSeconds, 1, 3600),
    sourceFetchBackoffMaxSeconds: r.integer(c.sourceFetchBackoffMaxSeconds, 1, 86_400),
    sourceAllowHttp: r.oneOf(c.sourceAllowHttp, ['false', 'true']) === 'true',
    sourceCacheMaxBytes: r.integer(c.sourceCacheMaxBytes, 1024 ** 2, Number.MAX_SAFE_INTEGER),
    sourceSymlinkPolicy: r.oneOf(c.sourceSymlinkPolicy, ['fail', 'remove'] as const),
    sourceMaxRepositoryBytes: r.integer(c.sourceMaxRepositoryBytes, 1024, 64 * 1024 ** 3),
    sourceMaxFileCount: r.integer(c.sourceMaxFileCount, 1, 10_000_000),
    sourceMaxFileBytes: r.integer(c.sourceMaxFileBytes, 1024, 16 * 1024 ** 3),
    reconcileEnabled,
    reconcileConcurrency: r.integer(c.reconcileConcurrency, 1, 4096),
    reconcilePerClusterConcurrency: r.integer(c.reconcilePerClusterConcurrency, 1, 256),
    reconcileLeaseSeconds: r.integer(c.reconcileLeaseSeconds, 5, 3600),
    reconcilePollIntervalMs: r.integer(c.reconcilePollIntervalMs, 50, 60_000),
    reconcileResyncSeconds: r.integer(c.reconcileResyncSeconds, 1, 86_400),
    reconcileWorkerEnabled: flag(r, c.reconcileWorkerEnabled) && reconcileEnabled,
    reconcileResyncEnabled: flag(r, c.reconcileResyncEnabled) && reconcileEnabled,
    tenantDeletionEnabled: flag(r, c.tenantDeletionEnabled) && reconcileEnabled,
    onboardingResyncEnabled: flag(r, c.onboardingResyncEnabled) && reconcileEnabled,
    renderConcurrency: r.integer(c.renderConcurrency, 1, 64),
    renderTimeoutSeconds: r.integer(c.renderTimeoutSeconds, 1, 3600),
    renderMaxObjects: r.integer(c.renderMaxObjects, 1, 100_000),
    strictPostBuildSubstitutions: flag(r, c.strictPostBuildSubstitutions),
    kubectlPath: r.string(c.kubectlPath),
    helmPath: r.string(c.helmPath),
    ...readOidc(r),
    adminGroups: list(r.string(c.adminGroups) ?? ''),
    tenantClusterAllowPrivateAddresses:
      r.oneOf(c.tenantClusterAllowPrivateAddresses, ['false', 'true']) === 'true',
    tenantClusterRole:
      r.string(c.tenantClusterRole, (v) =>
        /^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/.test(v) && v.length <= 253
          ? undefined
          : 'must be a ClusterRole name',
      ) ?? 'admin',
    authFailuresPerMinute: r.integer(c.authFailuresPerMinute, 1, 100_000),
    kubernetesServiceHost: r.string(c.kubernetesServiceHost),
    kubernetesServicePort: r.integer(c.kubernetesServicePort, 1, 65535),
    managementServiceAccountDir: r.string(c.managementServiceAccountDir) ?? '',
    managementKubeconfig: r.string(c.managementKubeconfig),
    capiDiscoveryEnabled: r.oneOf(c.capiDiscoveryEnabled, ['true', 'false']) === 'true',
    capiNamespaces: (r.string(c.capiNamespaces, checkNamespaceList) ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
    capiTenantNamespaceLabel:
      r.string(c.capiTenantNamespaceLabel, checkLabelKey) ?? 'gitfleet.dev/tenant',
    capiTenantNamespaces: parseNamespaceTenants(
      r.string(c.capiTenantNamespaces, (value) => parseNamespaceTenants(value).problem) ?? '',
    ).mapping,
    capiUnmappedNamespaces: r.oneOf(c.capiUnmappedNamespaces, ['platform', 'ignore'] as const),
    capiLeaseSeconds: r.integer(c.capiLeaseSeconds, 3, 3600),
    capiStartupSpreadSeconds: r.integer(c.capiStartupSpreadSeconds, 0, 3600),
    capiResyncSeconds: r.integer(c.capiResyncSeconds, 10, 86_400),
  };
  if (r.problems.length > 0) {
    throw new ConfigValidationError(r.problems);
  }
  return Object.freeze(config);
}

/** A `true`/`false` switch. */
const flag = (r: Reader, variable: ConfigVariable): boolean =>
  r.oneOf(variable, ['true', 'false']) === 'true';

const list = (value: string): string[] =>
  value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** Asymmetric JWS algorithms only: `none` and HMAC (a shared secret, or a public key misused as one) never. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

type OidcConfig = Pick<
  AppConfig,
  | 'oidcIssuerUrl'
  | 'oidcAudience'
  | 'oidcUsernameClaim'
  | 'oidcGroupsClaim'
  | 'oidcAllowedAlgorithms'
  | 'oidcClockSkewSeconds'
  | 'oidcJwksMinRefreshSeconds'
  | 'oidcAllowInsecureIssuer'
>;

function readOidc(r: Reader): OidcConfig {
  const c = CONFIG_VARIABLES;
  const allowInsecure = r.oneOf(c.oidcAllowInsecureIssuer, ['false', 'true']) === 'true';
  const issuer = r.string(c.oidcIssuerUrl, (value) => issuerProblem(value, allowInsecure));
  const audience = r.string(c.oidcAudience);
  const algorithms = list(
    r.string(c.oidcAllowedAlgorithms, (value) => {
      const entries = list(value);
      const bad = entries.filter((a) => !(OIDC_ALGORITHMS as readonly string[]).includes(a));
      if (entries.length === 0 || bad.length > 0) {
        return `must list asymmetric algorithms among ${OIDC_ALGORITHMS.join(', ')}`;
      }
      return undefined;
    }) ?? '',
  );
  if (issuer !== undefined && audience === undefined) {
    r.problems.push(`${c.oidcAudience.name}: required when ${c.oidcIssuerUrl.name} is set`);
  }
  const claim = (value: string): string | undefined =>
    /^[A-Za-z0-9_:./-]{1,128}$/.test(value) ? undefined : 'must be a claim name';
  return {
    oidcIssuerUrl: issuer,
    oidcAudience: audience,
    oidcUsernameClaim: r.string(c.oidcUsernameClaim, claim) ?? 'sub',
    oidcGroupsClaim: r.string(c.oidcGroupsClaim, claim) ?? 'groups',
    oidcAllowedAlgorithms: algorithms,
    oidcClockSkewSeconds: r.integer(c.oidcClockSkewSeconds, 0, 300),
    oidcJwksMinRefreshSeconds: r.integer(c.oidcJwksMinRefreshSeconds, 1, 86_400),
    oidcAllowInsecureIssuer: allowInsecure,
  };
}

const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** The issuer is fetched by the server: https only (unless explicitly allowed), never link-local or metadata. */
export function issuerProblem(value: string, allowInsecure: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
    return 'must use https:// (http:// only with OIDC_ALLOW_INSECURE_ISSUER=true)';
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return 'must not carry credentials, a query or a fragment';
  }
  const host = url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (
    METADATA_HOSTS.has(host) ||
    /^169\.254\./.test(host) ||
    /^0\./.test(host) ||
    host === '100.100.100.200' ||
    /^fe[89ab][0-9a-f]:/i.test(host) ||
    /^fd00:ec2::254$/i.test(host) ||
    /^::ffff:169\.254\./i.test(host) ||
    host === '::' ||
    // The one address policy: also every spelling of those addresses (hex-mapped
    // IPv6, IPv4-compatible, zone ids) that the patterns above do not see.
    hostProblem(host, { allowPrivate: true }) !== undefined
  ) {
    return 'must not point at a link-local or cloud metadata address';
  }
  return undefined;
}

function checkNamespaceList(value: string): string | undefined {
  const bad = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '' && (n.length > 63 || !DNS_LABEL.test(n)));
  return bad.length > 0 ? 'must be comma-separated namespace names' : undefined;
}

function checkLabelKey(value: string): string | undefined {
  return /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value)
    ? undefined
    : 'must be a Kubernetes label key';
}

function parseNamespaceTenants(value: string): {
  mapping: Readonly<Record<string, string>>;
  problem?: string;
} {
  const mapping: Record<string, string> = {};
  for (const entry of value.split(',')) {
    if (entry.trim() === '') {
      continue;
    }
    const [ns, tenant, ...rest] = entry.split('=').map((p) => p.trim());
    if (
      rest.length > 0 ||
      ns === undefined ||
      tenant === undefined ||
      !DNS_LABEL.test(ns) ||
      !DNS_LABEL.test(tenant)
    ) {
      return { mapping: {}, problem: 'must look like namespace=tenant,namespace2=tenant2' };
    }
    mapping[ns] = tenant;
  }
  return { mapping: Object.freeze(mapping) };
}

function readEncryptionKeys(
  r: Reader,
  externalDatabase: boolean,
): Pick<AppConfig, 'encryptionKeys' | 'encryptionActiveKeyId'> {
  const c = CONFIG_VARIABLES;
  let keys: EncryptionKeyConfig[] = [];
  const raw = r.string(c.encryptionKeys, (value) => {
    const parsed = parseEncryptionKeys(value);
    keys = parsed.keys;
    return parsed.problem;
  });
  const active = r.string(c.encryptionActiveKeyId);
  if (raw === undefined) {
    if (
      externalDatabase &&
      keys.length === 0 &&
      !r.problems.some((p) => p.startsWith(c.encryptionKeys.name))
    ) {
      // A generated key is only acceptable next to the embedded database it protects.
      r.problems.push(
        `${c.encryptionKeys.name}: required when ${c.databaseUrl.name} is set (generate a key with \`openssl rand -base64 32\`)`,
      );
    }
    if (active !== undefined) {
      r.problems.push(`${c.encryptionActiveKeyId.name}: set, but ${c.encryptionKeys.name} is not`);
    }
    return { encryptionKeys: [], encryptionActiveKeyId: undefined };
  }
  if (active === undefined) {
    if (keys.length !== 1) {
      r.problems.push(
        `${c.encryptionActiveKeyId.name}: required when ${c.encryptionKeys.name} lists several keys`,
      );
    }
    return { encryptionKeys: keys, encryptionActiveKeyId: keys[0]?.id };
  }
  if (!keys.some((k) => k.id === active)) {
    r.problems.push(
      `${c.encryptionActiveKeyId.name}: must be one of the ids in ${c.encryptionKeys.name} (got "${active}")`,
    );
  }
  return { encryptionKeys: keys, encryptionActiveKeyId: active };
}

/** Values that must never reach a log line, response or metric. */
export function secretValues(config: AppConfig): string[] {
  const secrets: string[] = [];
  if (config.adminToken !== undefined) {
    secrets.push(config.adminToken);
  }
  for (const key of config.encryptionKeys) {
    secrets.push(key.keyBase64);
  }
  if (config.databaseUrl !== undefined) {
    const password = new URL(config.databaseUrl).password;
    if (password !== '') {
      secrets.push(password, decodeURIComponent(password));
    }
  }
  return secrets;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
