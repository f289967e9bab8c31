import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import YAML from 'yaml';
import type { CertificateAuthority, CertPair } from 'test/support/kube-sim/certs';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';
import type { ControllerOptions } from 'test/support/kube-sim/controllers';
import { SimulatedControllers } from 'test/support/kube-sim/controllers';
import { Discovery, VERSION_INFO } from 'test/support/kube-sim/discovery';
import type { PatchType, WatchFilter, WriteContext } from 'test/support/kube-sim/engine';
import { ClusterEngine } from 'test/support/kube-sim/engine';
import { ApiError, Errors, FieldErrors, qualifiedResource } from 'test/support/kube-sim/errors';
import type { Negotiated } from 'test/support/kube-sim/media';
import {
  contentTypeOf,
  negotiate,
  transformEventObject,
  transformList,
  transformObject,
} from 'test/support/kube-sim/media';
import type { Attributes, UserInfo } from 'test/support/kube-sim/rbac';
import { SCALABLE } from 'test/support/kube-sim/autoscaling';
import { serveScale } from 'test/support/kube-sim/scale';
import { authorize, forbiddenMessage, rulesFor } from 'test/support/kube-sim/rbac';
import type { ResourceType } from 'test/support/kube-sim/schema';
import { apiVersionOf, BUILTIN_TYPES } from 'test/support/kube-sim/schema';
import { decodeReview, isProtobuf } from 'test/support/kube-sim/protobuf';
import { parseFieldSelector, parseLabelSelector } from 'test/support/kube-sim/selectors';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { clone, isDict } from 'test/support/kube-sim/types';

const builtinDiscovery = new Discovery([...BUILTIN_TYPES]);

export interface Identity {
  user: string;
  groups?: string[];
  uid?: string;
}

export interface Faults {
  /** Added delay before every request is handled. */
  latencyMs?: number;
  /** Fraction of requests answered with an error; 429 is plain text with Retry-After. */
  errorRate?: { code: 429 | 500 | 503; rate: number; retryAfterSeconds?: number; verbs?: string[] };
  /** Fraction (or true = all) of requests whose connection is destroyed without an answer. */
  dropConnections?: number | boolean;
  /** Closes the listener and every connection; set false to listen again on the same port. */
  unreachable?: boolean;
  /** Ends every watch stream cleanly after this many ms. */
  closeWatchesAfterMs?: number;
}

export interface ClusterOptions {
  /** Events kept for watch resumption (older resourceVersions get 410 Expired). */
  historySize?: number;
  /** Delay before a created CRD is Established and served. */
  crdEstablishDelayMs?: number;
  /** Default delay before simulated workloads become ready. */
  readyAfterMs?: number;
  /** Interval of BOOKMARK events for watchers that asked for them. */
  bookmarkIntervalMs?: number;
  /** Entries kept in `requestLog` (counters are never truncated). */
  requestLogSize?: number;
}

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  query: string;
  verb: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Authenticated user (the caller). */
  user: string;
  /** Effective user when the request impersonated someone. */
  impersonatedUser?: string;
  userAgent: string;
  /** The request's Accept header ('' when absent). */
  accept: string;
  code: number;
  durationMs: number;
}

export interface Counters {
  total: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  /** Keyed `"<verb> <resource>"`, e.g. `"patch deployments.apps"`. */
  byVerbResource: Record<string, number>;
}

export interface KubeconfigOptions {
  /** Bearer token (see `createToken` / `serviceAccountToken`). Default: the cluster-admin token. */
  token?: string;
  /** Client certificate (see `createClientCert`). */
  cert?: CertPair;
  /** Impersonate this user (`users[].user.as`). */
  as?: string;
  /** Default namespace of the context. */
  namespace?: string;
  /** Names of the cluster/user/context entries (default: the cluster name). */
  contextName?: string;
}

interface RequestInfo {
  resourceRequest: boolean;
  verb: string;
  path: string;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const ADMIN: Identity = { user: 'kube-sim:admin', groups: ['system:masters'] };

function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  const info: RequestInfo = {
    resourceRequest: false,
    verb: method.toLowerCase(),
    path,
    group: '',
    version: '',
    resource: '',
  };
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    info.version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    info.group = parts[1];
    info.version = parts[2];
    rest = parts.slice(3);
  } else {
    return info;
  }
  info.resourceRequest = true;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    info.namespace = rest[1];
    if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') {
      rest = rest.slice(2);
    }
  }
  info.resource = rest[0];
  info.name = rest[1];
  info.subresource = rest[2];
  if (rest.length > 3) {
    info.resource = '';
  }
  const watch = query.get('watch');
  switch (method) {
    case 'GET':
    case 'HEAD':
      info.verb = info.name ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list';
      if (info.verb === 'list' || info.verb === 'watch') {
        const fs = query.get('fieldSelector') ?? '';
        const m = /^metadata\.name==?([^,]+)$/.exec(fs);
        if (m) {
          info.name = m[1];
        }
      }
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name ? 'delete' : 'deletecollection';
      break;
    default:
      info.verb = method.toLowerCase();
  }
  return info;
}

function patchTypeOf(contentType: string): PatchType | undefined {
  switch (contentType.split(';')[0].trim().toLowerCase()) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      return undefined;
  }
}

function yamlString(v: unknown): string {
  return YAML.stringify(v, { lineWidth: 0 });
}

/** One virtual cluster: its own HTTPS port, CA, identities, state, faults and request accounting. */
export class SimCluster {
  readonly requestLog: RequestLogEntry[] = [];
  private readonly counts = new Map<string, number>();
  private total = 0;
  private readonly tokens = new Map<string, Identity>();
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<() => void>();
  private faultState: Faults = {};
  private engineInstance?: ClusterEngine;
  private controllersInstance?: SimulatedControllers;
  private discoveryCache?: { gen: number; d: Discovery };
  private listening = true;
  readonly adminToken: string;
  readonly faults = {
    set: (f: Faults): Promise<void> => this.setFaults(f),
    clear: (): Promise<void> =>
      this.setFaults({
        latencyMs: undefined,
        errorRate: undefined,
        dropConnections: undefined,
        unreachable: false,
        closeWatchesAfterMs: undefined,
      }),
    get: (): Faults => ({ ...this.faultState }),
  };

  private constructor(
    readonly name: string,
    readonly ca: CertificateAuthority,
    private readonly server: https.Server,
    readonly port: number,
    readonly options: Required<ClusterOptions>,
  ) {
    this.adminToken = this.createToken(ADMIN);
  }

  static async create(
    name: string,
    options: ClusterOptions = {},
    host = '127.0.0.1',
  ): Promise<SimCluster> {
    const ca = await createCertificateAuthority(`kube-sim-ca-${name}`);
    const serving = await ca.issue({ commonName: 'kube-apiserver', server: true });
    const server = https.createServer({
      cert: serving.certPem,
      key: serving.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
      keepAlive: true,
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const opts: Required<ClusterOptions> = {
      historySize: options.historySize ?? 2000,
      crdEstablishDelayMs: options.crdEstablishDelayMs ?? 50,
      readyAfterMs: options.readyAfterMs ?? 100,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      requestLogSize: options.requestLogSize ?? 5000,
    };
    const c = new SimCluster(name, ca, server, port, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void c.handle(req, res);
    });
    server.on('secureConnection', (s: TLSSocket) => c.track(s));
    // Raw connections too: one still in its TLS handshake when the listener closes would
    // otherwise finish it afterwards and keep `unreachable` from ever completing.
    server.on('connection', (s: Socket) => c.track(s));
    return c;
  }

  get server_url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The cluster's state, created on first use so idle clusters stay cheap. */
  get engine(): ClusterEngine {
    if (!this.engineInstance) {
      this.engineInstance = new ClusterEngine(
        {
          historySize: this.options.historySize,
          crdEstablishDelayMs: this.options.crdEstablishDelayMs,
        },
        this.ca.certPem,
      );
      this.controllersInstance = new SimulatedControllers(this.engineInstance, {
        readyAfterMs: this.options.readyAfterMs,
      });
      this.engineInstance.hooks.push(this.controllersInstance);
    }
    return this.engineInstance;
  }

  get controllerOptions(): ControllerOptions {
    void this.engine;
    return (this.controllersInstance as SimulatedControllers).options;
  }

  private track(s: Socket): void {
    if (!this.listening) {
      s.destroy();
      return;
    }
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  // ------------------------------------------------------------------ identities

  /** Registers a bearer token for an identity; returns the token. */
  createToken(identity: Identity, token: string = randomBytes(24).toString('base64url')): string {
    this.tokens.set(token, { ...identity, groups: [...(identity.groups ?? [])] });
    return token;
  }

  /** A bearer token that authenticates as the service account `system:serviceaccount:<ns>:<name>`. */
  serviceAccountToken(namespace: string, name: string): string {
    return this.createToken({
      user: `system:serviceaccount:${namespace}:${name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
    });
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Issues a client certificate (CN = user, O = groups) signed by this cluster's CA. */
  createClientCert(identity: Identity): Promise<CertPair> {
    return this.ca.issue({ commonName: identity.user, organizations: identity.groups });
  }

  /** Kubeconfig as an object; default identity is the cluster-admin token. */
  kubeconfigObject(opts: KubeconfigOptions = {}): Dict {
    const name = opts.contextName ?? this.name;
    const user: Dict = {};
    if (opts.cert) {
      user['client-certificate-data'] = Buffer.from(opts.cert.certPem).toString('base64');
      user['client-key-data'] = Buffer.from(opts.cert.keyPem).toString('base64');
    } else {
      user.token = opts.token ?? this.adminToken;
    }
    if (opts.as) {
      user.as = opts.as;
    }
    const context: Dict = { cluster: name, user: name };
    if (opts.namespace) {
      context.namespace = opts.namespace;
    }
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: {
            server: this.url,
            'certificate-authority-data': Buffer.from(this.ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name, user }],
      contexts: [{ name, context }],
      'current-context': name,
      preferences: {},
    };
  }

  /** Kubeconfig YAML; default identity is the cluster-admin token. */
  kubeconfig(opts: KubeconfigOptions = {}): string {
    return yamlString(this.kubeconfigObject(opts));
  }

  // ------------------------------------------------------------------ direct state access for tests

  private adminCtx(manager = 'kube-sim-seed'): WriteContext {
    return {
      user: { username: ADMIN.user, groups: ['system:masters', 'system:authenticated'] },
      userAgent: manager,
      fieldManager: manager,
      dryRun: false,
      warnings: [],
    };
  }

  private typeFor(obj: { apiVersion?: string; kind?: string }): ResourceType {
    const rt = this.engine.resolveKind(String(obj.apiVersion), String(obj.kind));
    if (!rt) {
      throw new Error(`kube-sim: no resource serves ${String(obj.apiVersion)} ${String(obj.kind)}`);
    }
    return rt;
  }

  /**
   * Creates objects (or replaces them when they exist) as the admin, through the normal
   * admission path. Namespaced objects default to the `default` namespace.
   */
  seed(...objs: KubeObject[]): KubeObject[] {
    return objs.map((o) => {
      const rt = this.typeFor(o);
      const ns = rt.namespaced ? (o.metadata.namespace ?? 'default') : undefined;
      const existing = this.engine.find(rt, ns, o.metadata.name ?? '');
      if (existing) {
        const body = clone(o);
        body.metadata.resourceVersion = existing.metadata.resourceVersion;
        const updated = this.engine.update(rt, this.adminCtx(), ns, o.metadata.name ?? '', body);
        if (isDict(o.status) && rt.status) {
          return this.engine.update(
            rt,
            this.adminCtx(),
            ns,
            o.metadata.name ?? '',
            { ...updated, status: o.status },
            'status',
          );
        }
        return updated;
      }
      const created = this.engine.create(rt, this.adminCtx(), ns, o);
      if (isDict(o.status) && rt.status) {
        return this.engine.update(
          rt,
          this.adminCtx(),
          ns,
          created.metadata.name ?? '',
          { ...created, status: o.status },
          'status',
        );
      }
      return created;
    });
  }

  /** Reads an object (undefined when absent). */
  getObject(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): KubeObject | undefined {
    const rt = this.typeFor({ apiVersion, kind });
    return this.engine.find(rt, rt.namespaced ? (namespace ?? 'default') : undefined, name);
  }

  listObjects(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const rt = this.typeFor({ apiVersion, kind });
    return this.engine.listObjects(rt, { namespace, labels: [], fields: [] });
  }

  /** Forces every older resourceVersion out of the watch window (next watch from it gets 410). */
  compactHistory(): void {
    this.engine.compact();
  }

  // ------------------------------------------------------------------ accounting

  counters(): Counters {
    const c: Counters = { total: this.total, byVerb: {}, byResource: {}, byVerbResource: {} };
    for (const [k, n] of this.counts) {
      const [verb, res] = k.split(' ');
      c.byVerbResource[k] = n;
      c.byVerb[verb] = (c.byVerb[verb] ?? 0) + n;
      c.byResource[res] = (c.byResource[res] ?? 0) + n;
    }
    return c;
  }

  resetCounters(): void {
    this.counts.clear();
    this.total = 0;
    this.requestLog.length = 0;
  }

  private record(entry: RequestLogEntry): void {
    this.total++;
    const res = entry.resource
      ? `${entry.group ? `${entry.resource}.${entry.group}` : entry.resource}${entry.subresource ? `/${entry.subresource}` : ''}`
      : entry.path;
    const k = `${entry.verb} ${res}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.requestLog.push(entry);
    if (this.requestLog.length > this.options.requestLogSize) {
      this.requestLog.splice(0, this.requestLog.length - this.options.requestLogSize);
    }
  }

  // ------------------------------------------------------------------ faults & lifecycle

  private async setFaults(f: Faults): Promise<void> {
    const wasUnreachable = this.faultState.unreachable === true;
    this.faultState = { ...this.faultState, ...f };
    if (f.unreachable === true && !wasUnreachable) {
      await this.closeListener();
    } else if (f.unreachable === false && wasUnreachable) {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => {
          this.server.off('error', reject);
          this.listening = true;
          resolve();
        });
      });
    }
  }

  private async closeListener(): Promise<void> {
    if (!this.listening) {
      return;
    }
    this.listening = false;
    for (const stop of [...this.watches]) {
      stop();
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) {
      s.destroy();
    }
    await closed;
  }

  async stop(): Promise<void> {
    await this.closeListener();
    this.engineInstance?.dispose();
  }

  // ------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    const entry: RequestLogEntry = {
      time: started,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      verb: info.verb,
      group: info.resourceRequest ? info.group : undefined,
      resource: info.resourceRequest ? info.resource : undefined,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      user: 'system:anonymous',
      userAgent: String(req.headers['user-agent'] ?? ''),
      accept: String(req.headers.accept ?? ''),
      code: 0,
      durationMs: 0,
    };
    res.on('finish', () => {
      entry.code = res.statusCode;
      entry.durationMs = Date.now() - started;
    });
    const f = this.faultState;
    const drop =
      f.dropConnections === true
        ? 1
        : typeof f.dropConnections === 'number'
          ? f.dropConnections
          : 0;
    if (drop > 0 && Math.random() < drop) {
      this.record(entry);
      req.socket.destroy();
      return;
    }
    if (f.latencyMs) {
      await new Promise((r) => setTimeout(r, f.latencyMs));
    }
    try {
      const user = this.authenticate(req);
      entry.user = user.username;
      const effective = this.impersonate(req, user);
      if (effective !== user) {
        entry.impersonatedUser = effective.username;
      }
      this.record(entry);
      const er = f.errorRate;
      if (er && Math.random() < er.rate && (!er.verbs || er.verbs.includes(info.verb))) {
        this.injectError(res, er.code, er.retryAfterSeconds ?? 1);
        return;
      }
      await this.dispatch(req, res, url, info, effective);
    } catch (e) {
      if (entry.code === 0 && !this.requestLog.includes(entry)) {
        this.record(entry);
      }
      this.sendError(res, e);
    }
  }

  private injectError(res: ServerResponse, code: 429 | 500 | 503, retryAfter: number): void {
    if (code === 429) {
      res.writeHead(429, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Retry-After': String(retryAfter),
      });
      res.end('Too many requests, please try again later.\n');
      return;
    }
    const err =
      code === 500
        ? Errors.internal('injected fault')
        : new ApiError(
            503,
            'ServiceUnavailable',
            'the server is currently unable to handle the request',
            { retryAfterSeconds: retryAfter },
          );
    res.setHeader('Retry-After', String(retryAfter));
    this.sendError(res, err);
  }

  private sendJson(
    res: ServerResponse,
    code: number,
    body: unknown,
    warnings: string[] = [],
    contentType = 'application/json',
  ): void {
    const data = JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
      'Content-Type': contentType,
      'Content-Length': String(Buffer.byteLength(data)),
      'Cache-Control': 'no-cache, private',
    };
    if (warnings.length) {
      headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    }
    res.writeHead(code, headers);
    res.end(data);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const err =
      e instanceof ApiError ? e : Errors.internal(e instanceof Error ? e.message : String(e));
    this.sendJson(res, err.code, err.toStatus());
  }

  private authenticate(req: IncomingMessage): UserInfo {
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      const id = m ? this.tokens.get(m[1].trim()) : undefined;
      if (!id) {
        throw Errors.unauthorized();
      }
      return withAuthenticated({ username: id.user, uid: id.uid, groups: id.groups ?? [] });
    }
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const cert = sock.getPeerCertificate();
      if (cert.subject) {
        const o = cert.subject.O;
        const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
        return withAuthenticated({ username: String(cert.subject.CN), groups });
      }
    }
    return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  }

  private impersonate(req: IncomingMessage, caller: UserInfo): UserInfo {
    const h = req.headersDistinct;
    const user = h['impersonate-user']?.[0];
    const groups = h['impersonate-group'] ?? [];
    const uid = h['impersonate-uid']?.[0];
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith('impersonate-extra-') && v) {
        extra[decodeURIComponent(k.slice('impersonate-extra-'.length)).toLowerCase()] = v;
      }
    }
    if (!user) {
      if (groups.length || uid || Object.keys(extra).length) {
        const what = [...groups.map((g) => `groups=${g}`), ...(uid ? [`uid=${uid}`] : [])];
        throw Errors.badRequest(`requested [${what.join(' ')}] without impersonating a user`);
      }
      return caller;
    }
    const check = (a: Attributes): void => {
      const d = authorize(this.engine, caller, a);
      if (!d.allowed) {
        throw new ApiError(403, 'Forbidden', forbiddenMessage(caller, a, d.reason), {
          name: a.name,
          group: a.group,
          kind: a.resource,
        });
      }
    };
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
    if (sa) {
      check({
        verb: 'impersonate',
        resource: 'serviceaccounts',
        group: '',
        namespace: sa[1],
        name: sa[2],
      });
    } else {
      check({ verb: 'impersonate', resource: 'users', group: '', name: user });
    }
    for (const g of groups) {
      check({ verb: 'impersonate', resource: 'groups', group: '', name: g });
    }
    if (uid) {
      check({ verb: 'impersonate', resource: 'uids', group: 'authentication.k8s.io', name: uid });
    }
    for (const [k, vs] of Object.entries(extra)) {
      for (const v of vs) {
        check({
          verb: 'impersonate',
          resource: 'userextras',
          subresource: k,
          group: 'authentication.k8s.io',
          name: v,
        });
      }
    }
    let gs = [...groups];
    if (sa && gs.length === 0) {
      gs = ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`];
    }
    const out: UserInfo = {
      username: user,
      groups: gs,
      uid,
      extra: Object.keys(extra).length ? extra : undefined,
    };
    if (user === 'system:anonymous') {
      if (!gs.includes('system:unauthenticated')) {
        out.groups.push('system:unauthenticated');
      }
      return out;
    }
    return withAuthenticated(out);
  }

  private discovery(): Discovery {
    const e = this.engine;
    if (e.allTypes().length === BUILTIN_TYPES.length) {
      return builtinDiscovery;
    }
    if (this.discoveryCache?.gen !== e.discoveryGeneration) {
      this.discoveryCache = { gen: e.discoveryGeneration, d: new Discovery(e.allTypes()) };
    }
    return this.discoveryCache.d;
  }

  private authorizeNonResource(user: UserInfo, verb: string, path: string): void {
    const d = authorize(this.engine, user, { verb, path });
    if (!d.allowed) {
      throw new ApiError(403, 'Forbidden', forbiddenMessage(user, { verb, path }, d.reason), {});
    }
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    user: UserInfo,
  ): Promise<void> {
    if (!info.resourceRequest) {
      this.nonResource(res, url, user, info);
      return;
    }
    const rt = this.engine.resolve(info.group, info.version, info.resource);
    if (!rt) {
      throw Errors.notFoundPath();
    }
    if (
      (info.namespace !== undefined && !rt.namespaced && rt.kind !== 'Namespace') ||
      (info.subresource !== undefined &&
        !(info.subresource === 'status' && rt.status) &&
        !(info.subresource === 'scale' && SCALABLE.has(`${rt.group}/${rt.kind}`)))
    ) {
      throw Errors.notFoundPath();
    }
    const ns = rt.namespaced ? info.namespace : undefined;
    const attrs: Attributes = {
      verb: info.verb,
      resource: rt.plural,
      subresource: info.subresource,
      group: rt.group,
      // A request for /api/v1/namespaces/{ns} is authorized within that namespace (RequestInfo).
      namespace: rt.kind === 'Namespace' && rt.group === '' ? info.namespace : ns,
      name: info.name,
    };
    const decision = authorize(this.engine, user, attrs);
    if (!decision.allowed && !(rt.virtual && info.verb === 'create')) {
      throw new ApiError(403, 'Forbidden', forbiddenMessage(user, attrs, decision.reason), {
        name: info.name,
        group: rt.group,
        kind: rt.plural,
      });
    }
    if (info.subresource === 'scale') {
      await this.scale(req, res, rt, ns, info, url.searchParams, user);
      return;
    }
    if (!rt.verbs.includes(info.verb) && !(info.verb === 'watch' && rt.verbs.includes('list'))) {
      throw Errors.methodNotAllowed(rt, info.verb);
    }
    const q = url.searchParams;
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      throw Errors.badRequest(`Invalid dry run value: ${dryRun.join(',')}`);
    }
    const ctx: WriteContext = {
      user,
      userAgent: String(req.headers['user-agent'] ?? ''),
      fieldManager: q.get('fieldManager') ?? undefined,
      dryRun: dryRun.includes('All'),
      fieldValidation: q.get('fieldValidation') ?? undefined,
      warnings: [],
    };
    const e = this.engine;
    switch (info.verb) {
      case 'get': {
        const media = negotiate(req.headers.accept);
        const obj = transformObject(media, e.get(rt, ns, info.name ?? ''));
        this.sendJson(res, 200, obj, [], contentTypeOf(media));
        return;
      }
      case 'list':
        this.list(res, rt, ns, q, negotiate(req.headers.accept));
        return;
      case 'watch':
        this.watch(req, res, rt, ns, q, negotiate(req.headers.accept));
        return;
      case 'create': {
        if (info.name) {
          throw Errors.methodNotAllowed(rt, 'create');
        }
        const body = await readBody(req);
        const ct = String(req.headers['content-type'] ?? '');
        if (rt.virtual) {
          this.sendJson(
            res,
            201,
            this.review(rt, isProtobuf(ct) ? decodeReview(body) : parseJson(body), user),
          );
          return;
        }
        if (isProtobuf(ct)) {
          throw Errors.unsupportedMediaType(['application/json', 'application/yaml']);
        }
        const created = e.create(rt, ctx, ns, asObject(body, req));
        this.sendJson(res, 201, created, ctx.warnings);
        return;
      }
      case 'update': {
        if (!info.name) {
          throw Errors.methodNotAllowed(rt, 'update');
        }
        if (isProtobuf(String(req.headers['content-type'] ?? ''))) {
          throw Errors.unsupportedMediaType(['application/json', 'application/yaml']);
        }
        const body = asObject(await readBody(req), req);
        const updated = e.update(rt, ctx, ns, info.name, body, info.subresource);
        this.sendJson(res, 200, updated, ctx.warnings);
        return;
      }
      case 'patch': {
        if (!info.name) {
          throw Errors.methodNotAllowed(rt, 'patch');
        }
        const ct = String(req.headers['content-type'] ?? '');
        const type = patchTypeOf(ct);
        const accepted = [
          'application/json-patch+json',
          'application/merge-patch+json',
          ...(rt.strategic ? ['application/strategic-merge-patch+json'] : []),
          'application/apply-patch+yaml',
        ];
        if (!type || (type === 'strategic' && !rt.strategic)) {
          throw Errors.unsupportedMediaType(accepted);
        }
        const forceRaw = q.get('force');
        if (type === 'apply') {
          const fm = ctx.fieldManager;
          if (!fm) {
            throw patchOptionsInvalid([
              FieldErrors.required('fieldManager', 'is required for apply patch'),
            ]);
          }
          if (fm.length > 128) {
            throw patchOptionsInvalid([
              {
                field: 'fieldManager',
                reason: 'FieldValueTooLong',
                message: 'Too long: may not be more than 128 bytes',
              },
            ]);
          }
        } else if (forceRaw !== null) {
          throw patchOptionsInvalid([
            FieldErrors.forbidden('force', 'may not be specified for non-apply patch'),
          ]);
        }
        const raw = (await readBody(req)).toString('utf8');
        let exists = e.find(rt, ns, info.name) !== undefined;
        if (type === 'apply' && !exists) {
          const d = authorize(e, user, { ...attrs, verb: 'create' });
          if (!d.allowed) {
            throw new ApiError(
              403,
              'Forbidden',
              forbiddenMessage(user, { ...attrs, verb: 'create' }, d.reason),
              { name: info.name, group: rt.group, kind: rt.plural },
            );
          }
        }
        const r = e.patch(rt, ctx, ns, info.name, type, raw, info.subresource, forceRaw === 'true');
        exists = !r.created;
        this.sendJson(res, exists ? 200 : 201, r.obj, ctx.warnings);
        return;
      }
      case 'delete': {
        const body = await readBody(req);
        const opts = deleteOptions(body, q);
        const r = e.delete(rt, ctx, ns, info.name ?? '', {
          ...opts,
          dryRun: ctx.dryRun || opts.dryRun,
        });
        if (r.deleted && !rt.returnDeletedObject) {
          this.sendJson(
            res,
            200,
            {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: {
                name: info.name,
                ...(rt.group ? { group: rt.group } : {}),
                kind: rt.plural,
                uid: r.obj.metadata.uid,
              },
            },
            ctx.warnings,
          );
        } else {
          this.sendJson(res, 200, r.obj, ctx.warnings);
        }
        return;
      }
      case 'deletecollection': {
        const body = await readBody(req);
        const opts = deleteOptions(body, q);
        const filter = this.filter(rt, ns, q);
        for (const o of e.listObjects(rt, filter)) {
          e.delete(rt, ctx, o.metadata.namespace, o.metadata.name ?? '', {
            ...opts,
            dryRun: ctx.dryRun || opts.dryRun,
          });
        }
        this.sendJson(
          res,
          200,
          { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' },
          ctx.warnings,
        );
        return;
      }
      default:
        throw Errors.methodNotAllowed(rt, info.verb);
    }
  }

  private async scale(
    req: IncomingMessage,
    res: ServerResponse,
    rt: ResourceType,
    ns: string | undefined,
    info: RequestInfo,
    q: URLSearchParams,
    user: UserInfo,
  ): Promise<void> {
    if (!['get', 'update', 'patch'].includes(info.verb)) {
      throw Errors.methodNotAllowed(rt, info.verb);
    }
    const ct = String(req.headers['content-type'] ?? '');
    const patchType = info.verb === 'patch' ? patchTypeOf(ct) : undefined;
    if (info.verb === 'patch' && !patchType) {
      throw Errors.unsupportedMediaType([
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/apply-patch+yaml',
      ]);
    }
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      throw Errors.badRequest(`Invalid dry run value: ${dryRun.join(',')}`);
    }
    const ctx: WriteContext = {
      user,
      userAgent: String(req.headers['user-agent'] ?? ''),
      fieldManager: q.get('fieldManager') ?? undefined,
      dryRun: dryRun.includes('All'),
      fieldValidation: q.get('fieldValidation') ?? undefined,
      warnings: [],
    };
    if (patchType === 'apply' && !ctx.fieldManager) {
      throw patchOptionsInvalid([
        FieldErrors.required('fieldManager', 'is required for apply patch'),
      ]);
    }
    const body = info.verb === 'get' ? undefined : (await readBody(req)).toString('utf8');
    const scale = serveScale(this.engine, rt, ctx, {
      verb: info.verb,
      ns,
      name: info.name ?? '',
      patchType,
      body,
      force: q.get('force') === 'true',
    });
    this.sendJson(res, 200, scale, ctx.warnings);
  }

  private filter(rt: ResourceType, ns: string | undefined, q: URLSearchParams): WatchFilter {
    return {
      namespace: ns,
      labels: parseLabelSelector(q.get('labelSelector')),
      fields: parseFieldSelector(
        q.get('fieldSelector'),
        rt.fieldSelectors,
        rt.namespaced,
        rt.crd !== undefined,
      ),
    };
  }

  private list(
    res: ServerResponse,
    rt: ResourceType,
    ns: string | undefined,
    q: URLSearchParams,
    media: Negotiated,
  ): void {
    if (q.get('resourceVersionMatch') && !q.get('resourceVersion')) {
      throw Errors.invalid('ListOptions', 'meta.k8s.io', '', [
        FieldErrors.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      ]);
    }
    const filter = this.filter(rt, ns, q);
    const e = this.engine;
    let items = e.listObjects(rt, filter);
    let listRv = e.resourceVersion;
    const cont = q.get('continue');
    if (cont) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as {
          rv: number;
          start: string;
        };
      } catch {
        throw Errors.badRequest('continue key is not valid: illegal base64 data');
      }
      if (token.rv < e.oldestResourceVersion()) {
        throw Errors.expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      listRv = token.rv;
      items = items.filter(
        (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}` > token.start,
      );
    }
    const limit = Number(q.get('limit') ?? 0);
    const meta: Dict = { resourceVersion: String(listRv) };
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      meta.continue = Buffer.from(
        JSON.stringify({
          rv: listRv,
          start: `${last.metadata.namespace ?? ''}/${last.metadata.name ?? ''}`,
        }),
      ).toString('base64url');
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    if (!rt.crd) {
      for (const i of items) {
        delete i.apiVersion;
        delete i.kind;
      }
    }
    const list = transformList(
      media,
      { kind: rt.listKind, apiVersion: apiVersionOf(rt), metadata: meta },
      items,
    );
    this.sendJson(res, 200, list, [], contentTypeOf(media));
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    rt: ResourceType,
    ns: string | undefined,
    q: URLSearchParams,
    media: Negotiated,
  ): void {
    if (q.get('sendInitialEvents') === 'true') {
      throw Errors.invalid('ListOptions', 'meta.k8s.io', '', [
        FieldErrors.forbidden(
          'sendInitialEvents',
          'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
        ),
      ]);
    }
    const filter = this.filter(rt, ns, q);
    const rvRaw = q.get('resourceVersion');
    const fromRv = rvRaw && rvRaw !== '0' ? Number(rvRaw) : undefined;
    if (fromRv !== undefined && !Number.isFinite(fromRv)) {
      throw Errors.badRequest(`invalid resource version: ${rvRaw}`);
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const write = (type: string, object: Dict): void => {
      if (!res.writableEnded) {
        res.write(
          JSON.stringify({ type, object: transformEventObject(media, type, object) }) + '\n',
        );
      }
    };
    if (fromRv !== undefined && fromRv > this.engine.resourceVersion) {
      write(
        'ERROR',
        new ApiError(
          504,
          'Timeout',
          `Timeout: Too large resource version: ${fromRv}, current: ${this.engine.resourceVersion}`,
          {
            causes: [{ reason: 'ResourceVersionTooLarge', message: `Too large resource version` }],
            retryAfterSeconds: 1,
          },
        ).toStatus(),
      );
      res.end();
      return;
    }
    let stopWatch: (() => void) | undefined;
    const timers: NodeJS.Timeout[] = [];
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const bookmark = (): void => {
      write('BOOKMARK', {
        kind: rt.kind,
        apiVersion: apiVersionOf(rt),
        metadata: { resourceVersion: String(this.engine.resourceVersion) },
      });
    };
    const finish = (): void => {
      stopWatch?.();
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      this.watches.delete(finish);
      if (!res.writableEnded) {
        res.end();
      }
    };
    this.watches.add(finish);
    try {
      stopWatch = this.engine.watch(rt, filter, fromRv, (type, obj) => write(type, obj));
    } catch (err) {
      if (err instanceof ApiError) {
        write('ERROR', err.toStatus());
      }
      finish();
      return;
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0);
    const timeoutMs =
      timeoutSeconds > 0 ? timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
    timers.push(
      setTimeout(() => {
        if (bookmarks) {
          bookmark();
        }
        finish();
      }, timeoutMs),
    );
    if (this.faultState.closeWatchesAfterMs !== undefined) {
      timers.push(setTimeout(finish, this.faultState.closeWatchesAfterMs));
    }
    if (bookmarks) {
      timers.push(setInterval(bookmark, this.options.bookmarkIntervalMs));
    }
    for (const t of timers) {
      t.unref();
    }
    req.on('close', finish);
    res.on('close', finish);
  }

  private review(rt: ResourceType, input: Dict, user: UserInfo): Dict {
    const spec = isDict(input.spec) ? input.spec : {};
    const out: Dict = {
      kind: rt.kind,
      apiVersion: apiVersionOf(rt),
      metadata: { creationTimestamp: null },
      spec,
    };
    switch (rt.kind) {
      case 'SelfSubjectAccessReview': {
        const ra = isDict(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
        const nra = isDict(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
        const a: Attributes = ra
          ? {
              verb: strOf(ra.verb),
              resource: strOf(ra.resource),
              subresource: strOf(ra.subresource) || undefined,
              group: strOf(ra.group),
              namespace: strOf(ra.namespace) || undefined,
              name: strOf(ra.name) || undefined,
            }
          : { verb: strOf(nra?.verb), path: strOf(nra?.path) };
        const d = authorize(this.engine, user, a);
        out.status = d.allowed
          ? { allowed: true }
          : { allowed: false, ...(d.reason ? { reason: d.reason } : {}) };
        return out;
      }
      case 'SelfSubjectRulesReview': {
        const ns = strOf(spec.namespace);
        if (user.groups.includes('system:masters')) {
          out.status = {
            resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            incomplete: false,
          };
          return out;
        }
        const { rules } = rulesFor(this.engine, user, ns || undefined);
        out.status = {
          resourceRules: rules
            .filter((r) => r.nonResourceURLs.length === 0)
            .map((r) => ({
              verbs: r.verbs,
              apiGroups: r.apiGroups,
              resources: r.resources,
              ...(r.resourceNames.length ? { resourceNames: r.resourceNames } : {}),
            })),
          nonResourceRules: rules
            .filter((r) => r.nonResourceURLs.length > 0)
            .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
          incomplete: false,
        };
        return out;
      }
      default:
        out.status = {
          userInfo: {
            username: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: user.groups,
            ...(user.extra ? { extra: user.extra } : {}),
          },
        };
        delete out.spec;
        return out;
    }
  }

  private nonResource(res: ServerResponse, url: URL, user: UserInfo, info: RequestInfo): void {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (info.verb !== 'get' && info.verb !== 'head') {
      throw Errors.notFoundPath();
    }
    this.authorizeNonResource(user, 'get', path);
    const d = this.discovery();
    if (path === '/version') {
      this.sendJson(res, 200, VERSION_INFO);
      return;
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/api') {
      this.sendJson(res, 200, d.apiVersions(`127.0.0.1:${this.port}`));
      return;
    }
    if (path === '/apis') {
      this.sendJson(res, 200, d.apiGroupList());
      return;
    }
    if (path === '/openapi/v3') {
      this.sendJson(res, 200, d.openapiV3Root());
      return;
    }
    const parts = path.split('/').filter((p) => p);
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = d.apiGroup(parts[1]);
      if (g) {
        this.sendJson(res, 200, g);
        return;
      }
    }
    if ((parts[0] === 'api' && parts.length === 2) || (parts[0] === 'apis' && parts.length === 3)) {
      const doc =
        parts[0] === 'api'
          ? parts[1] === 'v1'
            ? d.resourceList('', 'v1')
            : undefined
          : d.resourceList(parts[1], parts[2]);
      if (doc) {
        this.sendJson(res, 200, doc);
        return;
      }
    }
    if (parts[0] === 'openapi' && parts[1] === 'v3') {
      const doc = d.openapiV3(parts.slice(2).join('/'));
      if (doc) {
        this.sendJson(res, 200, doc);
        return;
      }
    }
    throw Errors.notFoundPath();
  }

  /** Describes a request as Kubernetes would name its resource (for messages). */
  static qualified(rt: ResourceType): string {
    return qualifiedResource(rt);
  }
}

function strOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function withAuthenticated(u: UserInfo): UserInfo {
  if (!u.groups.includes('system:authenticated') && !u.groups.includes('system:unauthenticated')) {
    u.groups = [...u.groups, 'system:authenticated'];
  }
  return u;
}

function patchOptionsInvalid(errs: ReturnType<typeof FieldErrors.required>[]): ApiError {
  const e = Errors.invalid('PatchOptions', 'meta.k8s.io', '', errs);
  return e;
}

const MAX_BODY = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(
          new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
        );
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): Dict {
  try {
    const v = body.length ? (JSON.parse(body.toString('utf8')) as unknown) : {};
    return isDict(v) ? v : {};
  } catch (e) {
    throw Errors.badRequest(
      `the object provided is unrecognized or malformed: ${(e as Error).message}`,
    );
  }
}

function asObject(body: Buffer, req: IncomingMessage): KubeObject {
  let parsed: unknown;
  const ct = String(req.headers['content-type'] ?? 'application/json');
  try {
    parsed = ct.includes('yaml')
      ? YAML.parse(body.toString('utf8'))
      : JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw Errors.badRequest(
      `the object provided is unrecognized or malformed: ${(e as Error).message}`,
    );
  }
  if (!isDict(parsed)) {
    throw Errors.badRequest('the object provided is unrecognized (must be of type object)');
  }
  if (parsed.metadata !== undefined && !isDict(parsed.metadata)) {
    throw Errors.badRequest('metadata must be an object');
  }
  parsed.metadata ??= {};
  return parsed as KubeObject;
}

function deleteOptions(
  body: Buffer,
  q: URLSearchParams,
): {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
} {
  let o: Dict = {};
  if (body.length) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (isDict(parsed)) {
        o = parsed;
      }
    } catch {
      throw Errors.badRequest('invalid DeleteOptions body');
    }
  }
  let policy =
    (q.get('propagationPolicy') ??
      (typeof o.propagationPolicy === 'string' ? o.propagationPolicy : undefined)) ||
    undefined;
  if (policy === undefined && o.orphanDependents !== undefined) {
    policy = o.orphanDependents === true ? 'Orphan' : 'Background';
  }
  const pre = isDict(o.preconditions)
    ? (o.preconditions as { uid?: string; resourceVersion?: string })
    : undefined;
  const dry = Array.isArray(o.dryRun) && o.dryRun.includes('All');
  return { propagationPolicy: policy, preconditions: pre, dryRun: dry };
}
