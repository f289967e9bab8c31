import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { ManagementConnection } from './management-connection';

export type Dict = Record<string, unknown>;

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Dict;
}

/** A failed call to the management cluster; `status` is the HTTP status when there was an answer. */
export class ManagementApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

export interface ListResult {
  readonly items: Dict[];
  readonly resourceVersion: string;
}

/**
 * `metadataOnly`: ask for `PartialObjectMetadata` (list items and watch event
 * objects carry only `metadata`), so that watching Secrets never moves their data.
 */
export interface ReadOptions {
  readonly metadataOnly?: boolean;
}

/**
 * `PartialObjectMetadata` with plain JSON as the fallback an older server picks: the
 * list kind for lists, the item kind for watches (each event carries one object; the
 * apiserver cannot convert it to the list kind and would send it whole), as
 * client-go's metadata client asks.
 */
const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_WATCH_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** The calls Cluster API discovery makes; small tests use a fake. */
export interface ManagementApi {
  /** The object, or undefined on 404. */
  get(path: string, signal?: AbortSignal): Promise<Dict | undefined>;
  /** Every item of a collection (following `continue`) and the list's resourceVersion. */
  list(
    path: string,
    query: Record<string, string>,
    signal?: AbortSignal,
    options?: ReadOptions,
  ): Promise<ListResult>;
  /**
   * Streams a watch. Resolves when the server ends the stream cleanly or
   * `onEvent` returns false; rejects on an HTTP error or a broken connection.
   */
  watch(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent) => boolean,
    signal?: AbortSignal,
    options?: ReadOptions,
  ): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY = 64 * 1024 * 1024;
const MAX_LINE = 16 * 1024 * 1024;

/** JSON over HTTPS to the management cluster, with a line-delimited streaming watch. */
export class ManagementClient implements ManagementApi {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(
    private readonly conn: ManagementConnection,
    private readonly userAgent = 'gitfleet-capi-discovery',
  ) {
    this.base = new URL(conn.server);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: conn.caPem,
      cert: conn.certPem,
      key: conn.keyPem,
      servername: conn.tlsServerName,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async get(path: string, signal?: AbortSignal): Promise<Dict | undefined> {
    const res = await this.request(path, {}, signal);
    if (res.status === 404) {
      return undefined;
    }
    return this.parse(res, path);
  }

  async list(
    path: string,
    query: Record<string, string>,
    signal?: AbortSignal,
    options: ReadOptions = {},
  ): Promise<ListResult> {
    const items: Dict[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    for (let page = 0; page < 1000; page++) {
      const res = await this.request(
        path,
        { ...query, limit: '500', ...(cont !== undefined ? { continue: cont } : {}) },
        signal,
        options,
      );
      const body = this.parse(res, path);
      const meta = (body.metadata ?? {}) as { continue?: string; resourceVersion?: string };
      // The first page's resourceVersion is the list's snapshot; later pages share it.
      if (page === 0) {
        resourceVersion = meta.resourceVersion ?? '';
      }
      for (const item of Array.isArray(body.items) ? (body.items as Dict[]) : []) {
        items.push(item);
      }
      cont = meta.continue;
      if (cont === undefined || cont === '') {
        return { items, resourceVersion };
      }
    }
    throw new ManagementApiError(`list ${path}: too many pages`);
  }

  watch(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent) => boolean,
    signal?: AbortSignal,
    options: ReadOptions = {},
  ): Promise<void> {
    const url = this.url(path, { ...query, watch: 'true' });
    const idleMs = (Number(query.timeoutSeconds ?? '300') + 60) * 1000;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) {
          return;
        }
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        if (error === undefined) {
          resolve();
        } else {
          reject(error);
        }
      };
      const onAbort = (): void =>
        finish(new ManagementApiError('watch aborted', undefined, 'Aborted'));
      const req = https.request(url, {
        method: 'GET',
        headers: this.headers(options, METADATA_WATCH_ACCEPT),
        agent: this.agent,
      });
      // A silent stream (half-open connection) is given up on and resumed.
      req.setTimeout(idleMs, () =>
        finish(new ManagementApiError(`watch ${path}: no data for ${idleMs} ms`)),
      );
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: NodeJS.ErrnoException) =>
        finish(new ManagementApiError(`watch ${path}: ${e.code ?? 'connection error'}`)),
      );
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
          res.on('end', () =>
            finish(this.httpError(res.statusCode ?? 0, Buffer.concat(chunks).toString(), path)),
          );
          res.on('error', () => finish(new ManagementApiError(`watch ${path}: connection lost`)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) {
            return;
          }
          buffer += chunk;
          if (buffer.length > MAX_LINE) {
            finish(new ManagementApiError(`watch ${path}: event too large`));
            return;
          }
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line === '') {
              continue;
            }
            let event: WatchEvent;
            try {
              event = JSON.parse(line) as WatchEvent;
            } catch {
              finish(new ManagementApiError(`watch ${path}: invalid event`));
              return;
            }
            if (typeof event?.type !== 'string' || typeof event.object !== 'object') {
              continue;
            }
            let more: boolean;
            try {
              more = onEvent(event);
            } catch (error) {
              finish(error instanceof Error ? error : new Error(String(error)));
              return;
            }
            if (!more) {
              finish();
              return;
            }
          }
        });
        res.on('end', () => finish());
        // A destroyed connection (server gone) ends the stream without 'end'.
        res.on('close', () =>
          finish(
            res.complete ? undefined : new ManagementApiError(`watch ${path}: connection lost`),
          ),
        );
        res.on('error', () => finish(new ManagementApiError(`watch ${path}: connection lost`)));
      });
      req.end();
    });
  }

  private url(path: string, query: Record<string, string>): URL {
    const url = new URL(this.base.toString());
    url.pathname = `${this.base.pathname.replace(/\/$/, '')}${path}`;
    for (const [k, v] of Object.entries(query)) {
      url.searchParams.set(k, v);
    }
    return url;
  }

  private headers(options: ReadOptions, metadataAccept: string): Record<string, string> {
    const token = this.conn.token();
    return {
      Accept: options.metadataOnly === true ? metadataAccept : 'application/json',
      'User-Agent': this.userAgent,
      ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
    };
  }

  private request(
    path: string,
    query: Record<string, string>,
    signal?: AbortSignal,
    options: ReadOptions = {},
  ): Promise<{ status: number; body: string }> {
    const url = this.url(path, query);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error): void => {
        if (!settled) {
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          req.destroy();
          reject(e);
        }
      };
      const onAbort = (): void => fail(new ManagementApiError('aborted', undefined, 'Aborted'));
      const req = https.request(url, {
        method: 'GET',
        headers: this.headers(options, METADATA_LIST_ACCEPT),
        agent: this.agent,
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        fail(new ManagementApiError(`GET ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)),
      );
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: NodeJS.ErrnoException) =>
        fail(new ManagementApiError(`GET ${path}: ${e.code ?? 'connection error'}`)),
      );
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            fail(new ManagementApiError(`GET ${path}: response too large`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', () => fail(new ManagementApiError(`GET ${path}: connection lost`)));
        res.on('end', () => {
          if (settled) {
            return;
          }
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end();
    });
  }

  private parse(res: { status: number; body: string }, path: string): Dict {
    if (res.status < 200 || res.status >= 300) {
      throw this.httpError(res.status, res.body, path);
    }
    try {
      return JSON.parse(res.body) as Dict;
    } catch {
      throw new ManagementApiError(`GET ${path}: invalid JSON`, res.status);
    }
  }

  private httpError(status: number, body: string, path: string): ManagementApiError {
    let reason: string | undefined;
    let message = `HTTP ${status}`;
    try {
      const s = JSON.parse(body) as { reason?: string; message?: string };
      reason = s.reason;
      message = (s.message ?? message).slice(0, 300);
    } catch {
      // Not a Status: keep the HTTP code only.
    }
    return new ManagementApiError(`GET ${path}: ${message}`, status, reason);
  }
}
