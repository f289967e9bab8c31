import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

const execFileAsync = promisify(execFile);

/** The helm binary extracted by scripts/install-tools.mjs, or HELM_PATH. */
export const HELM_PATH = process.env.HELM_PATH ?? resolve(__dirname, '../../../.tools/bin/helm');

export interface HelmRequestRecord {
  path: string;
  status: number;
  authorization?: string;
}

export type HelmRepoFault = { status: number; retryAfter?: string | number };

/**
 * A static Helm chart repository on 127.0.0.1: index.yaml and archives made by the real
 * helm binary, ETag / Last-Modified validators (304), per-path request log, optional
 * basic auth, optional HTTPS with a private CA, faults and redirects on demand.
 */
export class HelmRepoServer {
  readonly requests: HelmRequestRecord[] = [];
  private readonly faults: Array<{ fault: HelmRepoFault; remaining: number; pathPrefix: string }> =
    [];
  private redirectTarget: string | undefined;

  private constructor(
    private readonly server: Server,
    readonly dir: string,
    private readonly scratch: string,
    private readonly auth: { username: string; password: string } | undefined,
    /** PEM of the private CA that issued the HTTPS certificate; undefined for plain HTTP. */
    readonly caCertificate: string | undefined,
  ) {}

  /**
   * `tls`: serve HTTPS with a server certificate (127.0.0.1, localhost) issued by a CA
   * made for this server alone, so only a client trusting `caCertificate` connects.
   */
  static async start(
    options: { auth?: { username: string; password: string }; tls?: boolean } = {},
  ): Promise<HelmRepoServer> {
    const base = await mkdtemp(join(tmpdir(), 'gitfleet-helm-'));
    const dir = join(base, 'repo');
    const scratch = join(base, 'scratch');
    await mkdir(dir);
    await mkdir(scratch);
    const holder: { self?: HelmRepoServer } = {};
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      holder.self?.handle(req, res).catch(() => {
        res.writeHead(500);
        res.end();
      });
    };
    let server: Server;
    let caCertificate: string | undefined;
    if (options.tls === true) {
      // A distinct subject per server: TLS looks issuers up by name.
      const ca = await createCertificateAuthority(`gitfleet helm-repo test CA ${base}`);
      const leaf = await ca.issue({ commonName: '127.0.0.1', server: true });
      server = createHttpsServer({ key: leaf.keyPem, cert: leaf.certPem }, handler);
      caCertificate = ca.certPem;
    } else {
      server = createServer(handler);
    }
    const self = new HelmRepoServer(server, dir, scratch, options.auth, caCertificate);
    holder.self = self;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Repository URL as 127.0.0.1; `hostAlias` gives the same server under another host name. */
  url(hostAlias = '127.0.0.1'): string {
    const scheme = this.caCertificate === undefined ? 'http' : 'https';
    return `${scheme}://${hostAlias}:${this.port}/`;
  }

  private helm(args: string[]): Promise<{ stdout: string }> {
    return execFileAsync(HELM_PATH, args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.scratch,
        HELM_CACHE_HOME: join(this.scratch, 'cache'),
        HELM_CONFIG_HOME: join(this.scratch, 'config'),
        HELM_DATA_HOME: join(this.scratch, 'data'),
      },
    });
  }

  /**
   * Packages a small chart with `helm package` into the repository. `files` adds or
   * replaces chart files (chart-relative paths, e.g. `values-prod.yaml`). Call reindex() after.
   */
  async addChart(
    name: string,
    version: string,
    options: { appVersion?: string; files?: Readonly<Record<string, string>> } = {},
  ): Promise<string> {
    const chartDir = join(this.scratch, `${name}-${version}`, name);
    await mkdir(join(chartDir, 'templates'), { recursive: true });
    await writeFile(
      join(chartDir, 'Chart.yaml'),
      `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: "${options.appVersion ?? version}"\ntype: application\n`,
    );
    await writeFile(join(chartDir, 'values.yaml'), 'message: hello\n');
    await writeFile(
      join(chartDir, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  message: {{ .Values.message | quote }}\n  chart: {{ .Chart.Version | quote }}\n',
    );
    for (const [path, content] of Object.entries(options.files ?? {})) {
      await mkdir(dirname(join(chartDir, path)), { recursive: true });
      await writeFile(join(chartDir, path), content);
    }
    await this.helm(['package', chartDir, '--destination', this.dir]);
    return join(this.dir, `${name}-${version}.tgz`);
  }

  /** Regenerates index.yaml with `helm repo index` (relative chart URLs). */
  async reindex(): Promise<void> {
    await this.helm(['repo', 'index', this.dir]);
  }

  /** Changes an archive after indexing, so its digest no longer matches the index. */
  async tamperChart(name: string, version: string): Promise<void> {
    const file = join(this.dir, `${name}-${version}.tgz`);
    const bytes = await readFile(file);
    await writeFile(file, Buffer.concat([bytes, Buffer.from('tampered')]));
  }

  injectFault(fault: HelmRepoFault, options: { count?: number; pathPrefix?: string } = {}): void {
    this.faults.push({
      fault,
      remaining: options.count ?? 1,
      pathPrefix: options.pathPrefix ?? '/',
    });
  }

  /** Answer chart downloads (*.tgz) with a 302 to the same path on another base URL. */
  redirectChartsTo(baseUrl: string | undefined): void {
    this.redirectTarget = baseUrl;
  }

  /** Requests for a path answered with a given status (200: full downloads, 304: not modified). */
  count(path: string, status?: number): number {
    return this.requests.filter(
      (r) => r.path === path && (status === undefined || r.status === status),
    ).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
    await rm(join(this.dir, '..'), { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const record: HelmRequestRecord = { path, status: 0 };
    if (req.headers.authorization !== undefined) {
      record.authorization = req.headers.authorization;
    }
    this.requests.push(record);
    const reply = (
      status: number,
      headers: Record<string, string> = {},
      body?: Buffer | string,
    ): void => {
      record.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };

    const armed = this.faults.find((f) => f.remaining > 0 && path.startsWith(f.pathPrefix));
    if (armed !== undefined) {
      armed.remaining -= 1;
      const headers: Record<string, string> = {};
      if (armed.fault.retryAfter !== undefined) {
        headers['retry-after'] = String(armed.fault.retryAfter);
      }
      reply(armed.fault.status, headers, 'injected\n');
      return;
    }
    if (this.auth !== undefined) {
      const expected = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        reply(401, { 'www-authenticate': 'Basic realm="charts"' });
        return;
      }
    }
    if (this.redirectTarget !== undefined && path.endsWith('.tgz')) {
      reply(302, { location: new URL(path.replace(/^\//, ''), this.redirectTarget).toString() });
      return;
    }
    if (!/^\/[A-Za-z0-9._+-]+$/.test(path)) {
      reply(404);
      return;
    }
    const file = join(this.dir, path.slice(1));
    let info;
    try {
      info = await stat(file);
    } catch {
      reply(404);
      return;
    }
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
    const validators = { etag, 'last-modified': lastModified };
    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    if (
      ifNoneMatch !== undefined
        ? ifNoneMatch === etag
        : ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= Date.parse(lastModified)
    ) {
      reply(304, validators);
      return;
    }
    reply(
      200,
      {
        ...validators,
        'content-type': path.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip',
        'content-length': String(body.length),
      },
      body,
    );
  }
}
