import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorFromResponse, KubeError } from 'src/common/kube/kube.errors';
import { apiVersionOf, type KubeObject, type ObjectRef, splitApiVersion } from './kube-object';

/** How to reach one cluster: the allow-listed subset of a kubeconfig. Never logged. */
export interface KubeConnection {
  /** `https://host:port[/prefix]`. */
  server: string;
  /** PEM (or base64 PEM, as in `certificate-authority-data`) CA bundle. */
  caData?: string;
  /** Client certificate and key, PEM or base64 PEM. */
  certData?: string;
  keyData?: string;
  token?: string;
  tlsServerName?: string;
  /** Only when the registry explicitly allowed it. */
  insecureSkipTlsVerify?: boolean;
}

export interface KubeClientOptions {
  /** Sockets per cluster (bounded keep-alive pool). Default 8. */
  maxSockets?: number;
  /** Whole-request deadline. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline to establish a connection (TCP + TLS); beyond it the cluster is `Unreachable`. Default 5 s. */
  connectTimeoutMs?: number;
  /** Largest response body accepted. Default 64 MiB. */
  maxResponseBytes?: number;
  /** How long a discovery miss is trusted before asking again. Default 5 s. */
  discoveryMissTtlMs?: number;
  userAgent?: string;
}

export interface RequestOptions {
  /** Impersonated user, e.g. `system:serviceaccount:team-a:deployer`. */
  impersonate?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What discovery says about a kind. */
export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface ApplyPatchOptions extends RequestOptions {
  fieldManager: string;
  force: boolean;
  dryRun?: boolean;
}

export interface CreateOptions extends RequestOptions {
  fieldManager: string;
}

export interface ListOptions extends RequestOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions extends RequestOptions {
  propagationPolicy?: PropagationPolicy;
  /** Delete only if the live object still has this uid. */
  uid?: string;
}

/** Requests made, by Kubernetes verb; `dryRun` counts dry-run writes (also in their verb). */
export interface RequestCounters {
  total: number;
  byVerb: Record<string, number>;
  /** Non-dry-run create/update/patch/delete. */
  writes: number;
  dryRun: number;
  discovery: number;
}

/**
 * The port the applier, pruner and health checker use; `KubeApiClient` is the real one,
 * small tests use a fake.
 */
export interface KubeApi {
  /** Resolves a kind, refreshing discovery for its group/version on a miss. */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** Forgets discovery (of one apiVersion, or all), e.g. after CRDs became Established. */
  invalidateDiscovery(apiVersion?: string): void;
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef, opts?: RequestOptions): Promise<KubeObject | undefined>;
  /** All objects of a kind (in a namespace), following `continue` pages. Items carry apiVersion/kind. */
  list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts?: ListOptions,
  ): Promise<KubeObject[]>;
  /** Server-side apply. */
  apply(obj: KubeObject, opts: ApplyPatchOptions): Promise<KubeObject>;
  /** POST: creates the object (the only way to create one named by `generateName`). */
  create(obj: KubeObject, opts: CreateOptions): Promise<KubeObject>;
  /** True when deleted (or deletion started), false when it was already gone. */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  readonly counters: RequestCounters;
}

const DEFAULTS = {
  maxSockets: 8,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  maxResponseBytes: 64 * 1024 * 1024,
  discoveryMissTtlMs: 5_000,
  userAgent: 'gitfleet',
} satisfies Required<KubeClientOptions>;

const LIST_PAGE = 500;
const MAX_PAGES = 200;
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** `deployments.apps`, `configmaps`: how RBAC names a resource. */
function resourceName(info: ResourceInfo): string {
  return info.group === '' ? info.plural : `${info.plural}.${info.group}`;
}

function pem(data: string | undefined): string | undefined {
  if (data === undefined || data === '') {
    return undefined;
  }
  return data.includes('-----BEGIN') ? data : Buffer.from(data, 'base64').toString('utf8');
}

function bufferToString(v: unknown): string | undefined {
  if (typeof v === 'string') {
    return v;
  }
  if (Buffer.isBuffer(v)) {
    return v.toString('utf8');
  }
  return undefined;
}

interface DiscoveryEntry {
  fetchedAt: number;
  /** Undefined when the group/version is not served. */
  kinds?: Map<string, ResourceInfo>;
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  /** Kubernetes verb, for the counters. */
  verb: string;
  /** Plural resource (`deployments.apps`), named in errors. */
  resource?: string;
  dryRun?: boolean;
  what: string;
}

/**
 * A connection to one workload cluster: JSON over a bounded keep-alive HTTPS pool, typed
 * errors, lazily cached discovery, request counters. One instance per cluster connection;
 * the caller caches it and calls `close()` when the cluster's credentials change.
 */
export class KubeApiClient implements KubeApi {
  readonly counters: RequestCounters = {
    total: 0,
    byVerb: {},
    writes: 0,
    dryRun: 0,
    discovery: 0,
  };
  private readonly agent: https.Agent;
  private readonly base: URL;
  private readonly authorization?: string;
  private readonly opts: Required<KubeClientOptions>;
  private readonly discovery = new Map<string, DiscoveryEntry>();
  private readonly discoveryInFlight = new Map<string, Promise<DiscoveryEntry>>();

  constructor(conn: KubeConnection, options: KubeClientOptions = {}) {
    this.opts = { ...DEFAULTS, ...options };
    this.base = new URL(conn.server);
    if (this.base.protocol !== 'https:') {
      throw new KubeError('Invalid', 'cluster server must be an https:// URL');
    }
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: this.opts.maxSockets,
      maxFreeSockets: this.opts.maxSockets,
      // Free sockets are closed before a typical server keep-alive timeout (30-90 s) hits them.
      timeout: 20_000,
      scheduling: 'lifo',
      ca: pem(conn.caData),
      cert: pem(conn.certData),
      key: pem(conn.keyData),
      servername: conn.tlsServerName,
      rejectUnauthorized: conn.insecureSkipTlsVerify !== true,
    });
    if (conn.token !== undefined && conn.token !== '') {
      this.authorization = `Bearer ${conn.token}`;
    }
  }

  /**
   * Builds a client from a `KubeConfig` (the registry's, built with `loadFromOptions` from a
   * sanitized kubeconfig): TLS material and the token come from `applyToHTTPSOptions`.
   */
  static async fromKubeConfig(
    kc: KubeConfig,
    options: KubeClientOptions = {},
  ): Promise<KubeApiClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new KubeError('Invalid', 'kubeconfig has no current cluster');
    }
    const httpsOptions: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(httpsOptions);
    const headers = (httpsOptions.headers ?? {}) as Record<string, unknown>;
    const auth = typeof headers.Authorization === 'string' ? headers.Authorization : undefined;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    return new KubeApiClient(
      {
        server: cluster.server,
        caData: bufferToString(httpsOptions.ca),
        certData: bufferToString(httpsOptions.cert),
        keyData: bufferToString(httpsOptions.key),
        token,
        tlsServerName: cluster.tlsServerName,
        insecureSkipTlsVerify: cluster.skipTLSVerify,
      },
      options,
    );
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  // ------------------------------------------------------------------ discovery

  invalidateDiscovery(apiVersion?: string): void {
    if (apiVersion === undefined) {
      this.discovery.clear();
    } else {
      this.discovery.delete(apiVersion);
    }
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let entry = this.discovery.get(apiVersion);
    if (entry?.kinds?.has(kind)) {
      return entry.kinds.get(kind);
    }
    // Refreshed on a miss (a CRD may have been created since), but not more often than the TTL.
    if (!entry || Date.now() - entry.fetchedAt >= this.opts.discoveryMissTtlMs) {
      entry = await this.fetchDiscovery(apiVersion);
    }
    return entry.kinds?.get(kind);
  }

  private fetchDiscovery(apiVersion: string): Promise<DiscoveryEntry> {
    const pending = this.discoveryInFlight.get(apiVersion);
    if (pending) {
      return pending;
    }
    const p = this.loadDiscovery(apiVersion).finally(() =>
      this.discoveryInFlight.delete(apiVersion),
    );
    this.discoveryInFlight.set(apiVersion, p);
    return p;
  }

  private async loadDiscovery(apiVersion: string): Promise<DiscoveryEntry> {
    const { group, version } = splitApiVersion(apiVersion);
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    this.counters.discovery++;
    let body: { resources?: { name?: string; kind?: string; namespaced?: boolean }[] };
    try {
      body = (await this.requestJson({
        method: 'GET',
        path,
        verb: 'discovery',
        what: `discovery of ${apiVersion}`,
      })) as typeof body;
    } catch (e) {
      if (e instanceof KubeError && e.code === 'NotFound') {
        const entry: DiscoveryEntry = { fetchedAt: Date.now() };
        this.discovery.set(apiVersion, entry);
        return entry;
      }
      throw e;
    }
    const kinds = new Map<string, ResourceInfo>();
    for (const r of body.resources ?? []) {
      if (typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) {
        continue;
      }
      kinds.set(r.kind, {
        group,
        version,
        kind: r.kind,
        plural: r.name,
        namespaced: r.namespaced === true,
      });
    }
    const entry: DiscoveryEntry = { fetchedAt: Date.now(), kinds };
    this.discovery.set(apiVersion, entry);
    return entry;
  }

  private async resolve(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = await this.resource(apiVersion, kind);
    if (!info) {
      throw new KubeError('UnknownKind', `the cluster does not serve ${kind} in ${apiVersion}`);
    }
    return info;
  }

  private static path(info: ResourceInfo, namespace: string | undefined, name?: string): string {
    const prefix =
      info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
    const ns =
      info.namespaced && namespace !== undefined && namespace !== ''
        ? `/namespaces/${encodeURIComponent(namespace)}`
        : '';
    const item = name !== undefined ? `/${encodeURIComponent(name)}` : '';
    return `${prefix}${ns}/${info.plural}${item}`;
  }

  // ------------------------------------------------------------------ verbs

  async get(ref: ObjectRef, opts: RequestOptions = {}): Promise<KubeObject | undefined> {
    const info = await this.resolve(apiVersionOf(ref), ref.kind);
    try {
      const obj = (await this.requestJson(
        {
          method: 'GET',
          path: KubeApiClient.path(info, ref.namespace, ref.name),
          verb: 'get',
          resource: resourceName(info),
          what: `get ${ref.kind} ${ref.name}`,
        },
        opts,
      )) as KubeObject;
      return obj;
    } catch (e) {
      if (e instanceof KubeError && e.code === 'NotFound') {
        return undefined;
      }
      throw e;
    }
  }

  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: ListOptions = {},
  ): Promise<KubeObject[]> {
    const info = await this.resolve(apiVersion, kind);
    const items: KubeObject[] = [];
    let cont: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = (await this.requestJson(
        {
          method: 'GET',
          path: KubeApiClient.path(info, namespace),
          query: {
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            limit: String(LIST_PAGE),
            continue: cont,
          },
          verb: 'list',
          resource: resourceName(info),
          what: `list ${info.plural}`,
        },
        opts,
      )) as { items?: KubeObject[]; metadata?: { continue?: string } };
      for (const it of body.items ?? []) {
        // Built-in list items come without apiVersion/kind.
        it.apiVersion = apiVersion;
        it.kind = kind;
        items.push(it);
      }
      cont = body.metadata?.continue;
      if (cont === undefined || cont === '') {
        return items;
      }
    }
    throw new KubeError('ResponseTooLarge', `list ${info.plural}: more than ${MAX_PAGES} pages`);
  }

  async apply(obj: KubeObject, opts: ApplyPatchOptions): Promise<KubeObject> {
    const info = await this.resolve(obj.apiVersion, obj.kind);
    const name = obj.metadata.name ?? '';
    return (await this.requestJson(
      {
        method: 'PATCH',
        path: KubeApiClient.path(info, obj.metadata.namespace, name),
        query: {
          fieldManager: opts.fieldManager,
          force: String(opts.force),
          dryRun: opts.dryRun === true ? 'All' : undefined,
        },
        // JSON is YAML; the server parses apply bodies with a YAML parser.
        body: JSON.stringify(obj),
        contentType: 'application/apply-patch+yaml',
        verb: 'patch',
        resource: resourceName(info),
        dryRun: opts.dryRun === true,
        what: `apply ${obj.kind} ${name}`,
      },
      opts,
    )) as KubeObject;
  }

  async create(obj: KubeObject, opts: CreateOptions): Promise<KubeObject> {
    const info = await this.resolve(obj.apiVersion, obj.kind);
    const generateName = obj.metadata.generateName;
    const name = obj.metadata.name ?? (typeof generateName === 'string' ? generateName : '');
    return (await this.requestJson(
      {
        method: 'POST',
        path: KubeApiClient.path(info, obj.metadata.namespace),
        query: { fieldManager: opts.fieldManager },
        body: JSON.stringify(obj),
        contentType: 'application/json',
        verb: 'create',
        what: `create ${obj.kind} ${name}`,
      },
      opts,
    )) as KubeObject;
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const info = await this.resolve(apiVersionOf(ref), ref.kind);
    const body: Record<string, unknown> = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: opts.propagationPolicy ?? 'Background',
    };
    if (opts.uid !== undefined) {
      body.preconditions = { uid: opts.uid };
    }
    try {
      await this.requestJson(
        {
          method: 'DELETE',
          path: KubeApiClient.path(info, ref.namespace, ref.name),
          body: JSON.stringify(body),
          contentType: 'application/json',
          verb: 'delete',
          resource: resourceName(info),
          what: `delete ${ref.kind} ${ref.name}`,
        },
        opts,
      );
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.code === 'NotFound') {
        return false;
      }
      throw e;
    }
  }

  // ------------------------------------------------------------------ HTTP

  private count(req: HttpRequest): void {
    this.counters.total++;
    this.counters.byVerb[req.verb] = (this.counters.byVerb[req.verb] ?? 0) + 1;
    if (req.dryRun === true) {
      this.counters.dryRun++;
    } else if (req.method !== 'GET') {
      this.counters.writes++;
    }
  }

  private async requestJson(req: HttpRequest, opts: RequestOptions = {}): Promise<unknown> {
    this.count(req);
    const res = await this.send(req, opts, true);
    if (res.status < 200 || res.status >= 300) {
      const ra: unknown = res.headers['retry-after'];
      const retryAfter = typeof ra === 'string' ? ra : undefined;
      throw errorFromResponse(res.status, res.body, retryAfter, req.what, {
        verb: req.verb,
        ...(req.resource === undefined ? {} : { resource: req.resource }),
        ...(req.dryRun === true ? { dryRun: true } : {}),
      });
    }
    if (res.body === '') {
      return {};
    }
    try {
      return JSON.parse(res.body) as unknown;
    } catch {
      throw new KubeError('ServerError', `${req.what}: the cluster answered with invalid JSON`, {
        httpStatus: res.status,
      });
    }
  }

  private send(req: HttpRequest, opts: RequestOptions, mayRetry: boolean): Promise<RawResponse> {
    const url = new URL(this.base.toString());
    url.pathname = `${this.base.pathname.replace(/\/$/, '')}${req.path}`;
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) {
        url.searchParams.set(k, v);
      }
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.opts.userAgent,
    };
    if (this.authorization !== undefined) {
      headers.Authorization = this.authorization;
    }
    if (opts.impersonate !== undefined) {
      headers['Impersonate-User'] = opts.impersonate;
    }
    if (req.body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(req.body));
    }
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    const maxBytes = this.opts.maxResponseBytes;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const r = https.request(url, { method: req.method, headers, agent: this.agent });
      const fail = (e: KubeError): void => {
        if (!settled) {
          settled = true;
          clearTimeout(deadline);
          clearTimeout(connectTimer);
          opts.signal?.removeEventListener('abort', onAbort);
          r.destroy();
          reject(e);
        }
      };
      const deadline = setTimeout(
        () => fail(new KubeError('Timeout', `${req.what}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let connectTimer: NodeJS.Timeout | undefined;
      const onAbort = (): void => fail(new KubeError('Timeout', `${req.what}: aborted`));
      if (opts.signal?.aborted === true) {
        onAbort();
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('socket', (s: Socket) => {
        if (s.connecting) {
          connectTimer = setTimeout(
            () =>
              fail(
                new KubeError(
                  'Unreachable',
                  `${req.what}: cannot connect to the cluster within ${this.opts.connectTimeoutMs} ms`,
                  { cause: 'ConnectTimeout' },
                ),
              ),
            this.opts.connectTimeoutMs,
          );
          // The TLS handshake counts as connecting: only secureConnect clears the timer.
          s.once('secureConnect', () => clearTimeout(connectTimer));
        }
      });
      r.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) {
          return;
        }
        // A pooled socket the server closed meanwhile: retry once on a fresh one.
        if (mayRetry && r.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          settled = true;
          clearTimeout(deadline);
          clearTimeout(connectTimer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.send(req, opts, false).then(resolve, reject);
          return;
        }
        const code = e.code ?? '';
        const tls =
          code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL');
        fail(
          new KubeError(
            'Unreachable',
            tls
              ? `${req.what}: TLS handshake with the cluster failed (${code})`
              : `${req.what}: cannot reach the cluster (${UNREACHABLE_CODES.has(code) ? code : code || 'connection error'})`,
            { cause: code || undefined },
          ),
        );
      });
      r.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            fail(
              new KubeError(
                'ResponseTooLarge',
                `${req.what}: response larger than ${maxBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', () =>
          fail(
            new KubeError('Unreachable', `${req.what}: connection lost while reading the answer`),
          ),
        );
        res.on('end', () => {
          if (settled) {
            return;
          }
          settled = true;
          clearTimeout(deadline);
          clearTimeout(connectTimer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      r.end(req.body);
    });
  }
}
