import https from 'node:https';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import type { CertPair } from 'test/support/kube-sim/certs';

/** Loosely typed view of a JSON payload for assertions (index freely, compare with expect). */
export interface Wire {
  [key: string]: Wire;
}

export interface WatchEvent {
  type: string;
  object: Wire;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  body: Wire;
}

export interface SimRequestOptions {
  body?: unknown;
  contentType?: string;
  token?: string | null;
  cert?: CertPair;
  headers?: Record<string, string | string[]>;
}

/** A raw HTTPS request against a simulated cluster (admin token unless told otherwise). */
export function simRequest(
  cluster: SimCluster,
  method: string,
  path: string,
  opts: SimRequestOptions = {},
): Promise<SimResponse> {
  const headers: Record<string, string | string[]> = {
    Accept: 'application/json',
    ...opts.headers,
  };
  const token = opts.token === undefined ? cluster.adminToken : opts.token;
  if (token !== null && !opts.cert) {
    headers.Authorization = `Bearer ${token}`;
  }
  let data: string | undefined;
  if (opts.body !== undefined) {
    data = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: cluster.port,
        method,
        path,
        headers,
        ca: cluster.ca.certPem,
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Wire;
          try {
            body = JSON.parse(text) as Wire;
          } catch {
            body = {};
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data !== undefined) {
      req.write(data);
    }
    req.end();
  });
}

/** SSA helper: PATCH with application/apply-patch+yaml. */
export function simApply(
  cluster: SimCluster,
  path: string,
  obj: unknown,
  query = 'fieldManager=test',
  opts: SimRequestOptions = {},
): Promise<SimResponse> {
  return simRequest(cluster, 'PATCH', `${path}?${query}`, {
    ...opts,
    body: obj,
    contentType: 'application/apply-patch+yaml',
  });
}

/** Opens a watch and collects events until the stream ends or `until` returns true. */
export function simWatch(
  cluster: SimCluster,
  path: string,
  until?: (events: WatchEvent[]) => boolean,
  opts: { token?: string; accept?: string } = {},
): Promise<{ status: number; events: WatchEvent[] }> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const req = https.request(
      {
        host: '127.0.0.1',
        port: cluster.port,
        method: 'GET',
        path,
        headers: {
          Authorization: `Bearer ${opts.token ?? cluster.adminToken}`,
          ...(opts.accept !== undefined ? { Accept: opts.accept } : {}),
        },
        ca: cluster.ca.certPem,
        agent: false,
      },
      (res) => {
        let buf = '';
        const done = (): void => resolve({ status: res.statusCode ?? 0, events });
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) {
              events.push(JSON.parse(line) as WatchEvent);
            }
          }
          if (until?.(events)) {
            req.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', () => done());
      },
    );
    req.on('error', (e) => {
      if (events.length === 0) {
        reject(e);
      }
    });
    req.end();
  });
}

/** The items of a list response. */
export function itemsOf(res: SimResponse): Wire[] {
  return res.body.items as unknown as Wire[];
}

/** A wire value as a string (for building paths and messages in assertions). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A wire value as an array. */
export function list(v: Wire | undefined): Wire[] {
  return (v ?? []) as unknown as Wire[];
}
