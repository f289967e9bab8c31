import { spawn } from 'node:child_process';
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer as createHttpServer,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createTestCertificate } from 'test/support/git-server/test-certificate';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

export interface GitHttpServerOptions {
  /** Directory of bare repositories (GitRepositories.root). */
  root: string;
  /** Require HTTP basic auth with these credentials. */
  auth?: { username: string; password: string };
  /** Serve HTTPS with a fresh self-signed certificate (default true). */
  tls?: boolean;
  /**
   * With `tls`: serve a certificate (127.0.0.1, localhost) issued by a CA made for this
   * server alone instead of a self-signed one; `caCertificate` is then that CA.
   */
  privateCa?: boolean;
  /** Port on 127.0.0.1 (default: any free one). */
  port?: number;
}

export interface GitRequestStats {
  /** GET …/info/refs?service=git-upload-pack */
  infoRefs: number;
  /** Protocol v2 `command=ls-refs` requests. */
  lsRefs: number;
  /** Pack negotiations: v2 `command=fetch` or any v0 upload-pack POST. */
  fetches: number;
  /** Requests answered 401 for missing or wrong credentials. */
  unauthorized: number;
  /** Every request for the repository, faults included. */
  requests: number;
}

export type GitHttpFault =
  | { kind: 'status'; status: number; retryAfter?: string | number }
  /** Accept the request and never answer (until the server closes). */
  | { kind: 'hang' };

/** Which requests a fault applies to: all, or only pack negotiations (`command=fetch`). */
export type GitFaultTarget = 'all' | 'fetch';

interface ArmedFault {
  fault: GitHttpFault;
  remaining: number;
  repo?: string;
  only: GitFaultTarget;
}

function emptyStats(): GitRequestStats {
  return { infoRefs: 0, lsRefs: 0, fetches: 0, unauthorized: 0, requests: 0 };
}

/**
 * A real smart-HTTP git server: `git http-backend` (CGI) behind a Node HTTP(S) server on
 * 127.0.0.1, with basic auth, per-repository request counters and faults on demand.
 */
export class GitHttpServer {
  private readonly stats = new Map<string, GitRequestStats>();
  private readonly faults: ArmedFault[] = [];
  private readonly sockets = new Set<Socket>();
  /** Authorization headers received, to prove what a client sent. */
  readonly authorizationHeaders: string[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: GitHttpServerOptions,
    readonly caCertificate: string | undefined,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: GitHttpServerOptions): Promise<GitHttpServer> {
    const tls = options.tls ?? true;
    const certificate = !tls
      ? undefined
      : options.privateCa === true
        ? await createPrivateCaCertificate()
        : await createTestCertificate().then((own) => ({ ...own, ca: own.cert }));
    const holder: { self?: GitHttpServer } = {};
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      holder.self?.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500);
        }
        res.end(String(error));
      });
    };
    const server =
      certificate === undefined
        ? createHttpServer(handler)
        : createHttpsServer({ key: certificate.key, cert: certificate.cert }, handler);
    const self = new GitHttpServer(server, options, certificate?.ca);
    holder.self = self;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    return `${this.caCertificate === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  /** Clone URL of a repository (`TestRepository.path`). */
  url(repoPath: string): string {
    return `${this.baseUrl}/${repoPath}`;
  }

  statsFor(repoPath: string): GitRequestStats {
    return { ...(this.stats.get(repoPath) ?? emptyStats()) };
  }

  resetStats(): void {
    this.stats.clear();
    this.authorizationHeaders.length = 0;
  }

  /** Answer the next `count` requests (optionally of one repository) with a fault. */
  injectFault(
    fault: GitHttpFault,
    options: { count?: number; repo?: string; only?: GitFaultTarget } = {},
  ): void {
    this.faults.push({
      fault,
      only: options.only ?? 'all',
      remaining: options.count ?? Number.POSITIVE_INFINITY,
      ...(options.repo === undefined ? {} : { repo: options.repo }),
    });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private counters(repo: string): GitRequestStats {
    let stats = this.stats.get(repo);
    if (stats === undefined) {
      stats = emptyStats();
      this.stats.set(repo, stats);
    }
    return stats;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match =
      /^\/(.+?\.git)\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.*)$/.exec(
        url.pathname,
      );
    const repo = match?.[1] ?? '';
    const stats = this.counters(repo);
    stats.requests += 1;
    const body = await readBody(req);

    const armed = this.faults.find(
      (candidate) =>
        candidate.remaining > 0 && (candidate.repo === undefined || candidate.repo === repo),
    );
    if (armed !== undefined) {
      armed.remaining -= 1;
      switch (armed.fault.kind) {
        case 'hang':
          return; // Never answered; close() destroys the socket.
        case 'status': {
          const headers: Record<string, string> = { 'content-type': 'text/plain' };
          if (armed.fault.retryAfter !== undefined) {
            headers['retry-after'] = String(armed.fault.retryAfter);
          }
          res.writeHead(armed.fault.status, headers);
          res.end(`injected ${armed.fault.status}\n`);
          return;
        }
      }
    }

    if (this.options.auth !== undefined) {
      const header = req.headers.authorization;
      if (header !== undefined) {
        this.authorizationHeaders.push(header);
      }
      const expected = `Basic ${Buffer.from(`${this.options.auth.username}:${this.options.auth.password}`).toString('base64')}`;
      if (header !== expected) {
        stats.unauthorized += 1;
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="gitfleet test"',
          'content-type': 'text/plain',
        });
        res.end('authentication required\n');
        return;
      }
    }
    if (
      match === null ||
      match[2] === 'git-receive-pack' ||
      url.searchParams.get('service') === 'git-receive-pack'
    ) {
      res.writeHead(403);
      res.end('read-only test server\n');
      return;
    }
    if (match[2] === 'info/refs') {
      stats.infoRefs += 1;
    } else if (match[2] === 'git-upload-pack') {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString(
        'latin1',
      );
      if (text.includes('command=ls-refs')) {
        stats.lsRefs += 1;
      } else {
        stats.fetches += 1;
      }
    }
    await this.runBackend(req, res, url, body);
  }

  private runBackend(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.options.root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_PROJECT_ROOT: this.options.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: String(body.length),
        REMOTE_ADDR: '127.0.0.1',
        REMOTE_USER: this.options.auth?.username ?? '',
        SERVER_PROTOCOL: 'HTTP/1.1',
      };
      const protocol = req.headers['git-protocol'];
      if (typeof protocol === 'string') {
        env.GIT_PROTOCOL = protocol;
      }
      const encoding = req.headers['content-encoding'];
      if (typeof encoding === 'string') {
        env.HTTP_CONTENT_ENCODING = encoding;
      }
      const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let head = Buffer.alloc(0);
      let headersDone = false;
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        let end = head.indexOf('\r\n\r\n');
        let separator = 4;
        if (end < 0) {
          end = head.indexOf('\n\n');
          separator = 2;
        }
        if (end < 0) {
          return;
        }
        headersDone = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon < 0) {
            continue;
          }
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') {
            status = Number.parseInt(value, 10);
          } else {
            headers[name] = value;
          }
        }
        res.writeHead(status, headers);
        res.write(head.subarray(end + separator));
      });
      cgi.stderr.resume();
      cgi.on('error', reject);
      cgi.on('close', () => {
        if (!headersDone) {
          res.writeHead(500);
        }
        res.end();
        resolve();
      });
      cgi.stdin.on('error', () => undefined);
      cgi.stdin.end(body);
    });
  }
}

async function createPrivateCaCertificate(): Promise<{ cert: string; key: string; ca: string }> {
  const ca = await createCertificateAuthority(`gitfleet git test CA ${process.pid}-${Date.now()}`);
  const leaf = await ca.issue({ commonName: '127.0.0.1', server: true });
  return { cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
