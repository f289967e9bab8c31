import { pemCertificates } from 'src/common/tls/pem-certificates';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { FieldProblem } from 'src/common/errors/app-error';
import { ClusterError } from 'src/clusters/clusters.errors';
import { hostProblem } from 'src/common/net/address-policy';

/** Largest kubeconfig accepted for upload. */
export const KUBECONFIG_MAX_BYTES = 128 * 1024;
const MAX_ENTRIES = 100;

/** Everything gitfleet keeps from an uploaded kubeconfig: the allow-listed subset of one context. */
export interface VettedKubeconfig {
  readonly server: string;
  /** base64 PEM bundle, as in `certificate-authority-data`. */
  readonly certificateAuthorityData?: string;
  readonly tlsServerName?: string;
  readonly insecureSkipTlsVerify: boolean;
  readonly proxyUrl?: string;
  readonly credentials: VettedCredentials;
}

export type VettedCredentials =
  | { readonly kind: 'token'; readonly token: string }
  | {
      readonly kind: 'clientCertificate';
      /** base64 PEM, as in `client-certificate-data`. */
      readonly clientCertificateData: string;
      readonly clientKeyData: string;
    };

export interface SanitizeOptions {
  /** Context to take; default `current-context`. */
  readonly context?: string;
  /** Loopback and private server addresses (admin registrations: yes; tenant self-registration: no). */
  readonly allowPrivateAddresses: boolean;
  /** The request explicitly opted in to `insecure-skip-tls-verify: true`. */
  readonly allowInsecureSkipTlsVerify: boolean;
  /** Configuration allows `proxy-url`. */
  readonly allowProxyUrl: boolean;
  /** Configuration allows `http://` servers (which then also need the TLS opt-in). */
  readonly allowHttp: boolean;
}

// Fields client-node acts on that run code, read files, weaken TLS or change identity.
const FORBIDDEN_USER_FIELDS: Readonly<Record<string, string>> = {
  exec: 'exec credential plugins are not allowed (they run programs inside gitfleet)',
  'auth-provider': 'auth-provider entries are not allowed (they run commands or read files)',
  'token-file': 'file references are not allowed; use token',
  tokenFile: 'file references are not allowed; use token',
  'client-certificate': 'file references are not allowed; use client-certificate-data',
  'client-key': 'file references are not allowed; use client-key-data',
  username: 'basic authentication is not supported; use a token or a client certificate',
  password: 'basic authentication is not supported; use a token or a client certificate',
  as: 'impersonation settings are not allowed',
  'as-groups': 'impersonation settings are not allowed',
  'as-uid': 'impersonation settings are not allowed',
  'as-user-extra': 'impersonation settings are not allowed',
};
const FORBIDDEN_CLUSTER_FIELDS: Readonly<Record<string, string>> = {
  'certificate-authority': 'file references are not allowed; use certificate-authority-data',
};
// Informational fields that client-node ignores or that are harmless; dropped.
const IGNORED_FIELDS = new Set(['extensions', 'disable-compression', 'namespace']);

type YamlMap = Record<string, unknown>;

class Rejection {
  readonly problems: FieldProblem[] = [];
  add(field: string, message: string): void {
    this.problems.push({ field: `kubeconfig.${field}`, message });
  }
}

function reject(problems: readonly FieldProblem[]): never {
  const first = problems[0];
  throw new ClusterError(
    'KubeconfigRejected',
    `kubeconfig rejected: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    problems.length > 0 ? problems : [first],
  );
}

function rejectOne(field: string, message: string): never {
  return reject([{ field: `kubeconfig${field === '' ? '' : `.${field}`}`, message }]);
}

const isMap = (v: unknown): v is YamlMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses an uploaded kubeconfig (YAML or JSON) and keeps only the vetted
 * subset of one context. The text is never handed to client-node: its
 * loader reads token files at parse time and runs exec plugins later.
 * Problems name fields, never values.
 */
export function sanitizeKubeconfig(text: string, options: SanitizeOptions): VettedKubeconfig {
  if (Buffer.byteLength(text, 'utf8') > KUBECONFIG_MAX_BYTES) {
    rejectOne('', `larger than ${KUBECONFIG_MAX_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, {
      maxAliasCount: 10,
      uniqueKeys: true,
      prettyErrors: false,
      schema: 'core',
      merge: false,
    });
  } catch (error) {
    const pos = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    rejectOne(
      '',
      `is not valid YAML or JSON${pos === undefined ? '' : ` (line ${pos.line}, column ${pos.col})`}`,
    );
  }
  if (!isMap(doc)) {
    rejectOne('', 'must be a kubeconfig mapping with clusters, users and contexts');
  }

  const contextName = options.context ?? doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') {
    rejectOne('current-context', 'is missing; name the context to use');
  }
  const context = findNamed(doc, 'contexts', contextName, 'context');
  const contextBody = context.body;
  const contextRej = new Rejection();
  for (const key of Object.keys(contextBody)) {
    if (key !== 'cluster' && key !== 'user' && !IGNORED_FIELDS.has(key)) {
      contextRej.add(`contexts[${context.index}].context.${key}`, 'unsupported field');
    }
  }
  if (contextRej.problems.length > 0) {
    reject(contextRej.problems);
  }
  const clusterName = contextBody.cluster;
  const userName = contextBody.user;
  if (typeof clusterName !== 'string' || clusterName === '') {
    rejectOne(`contexts[${context.index}].context.cluster`, 'is missing');
  }
  if (typeof userName !== 'string' || userName === '') {
    rejectOne(`contexts[${context.index}].context.user`, 'is missing');
  }
  const cluster = findNamed(doc, 'clusters', clusterName, 'cluster');
  const user = findNamed(doc, 'users', userName, 'user');

  const rej = new Rejection();
  const clusterPart = vetCluster(cluster.body, `clusters[${cluster.index}].cluster`, options, rej);
  const credentials = vetUser(user.body, `users[${user.index}].user`, rej);
  if (rej.problems.length > 0 || clusterPart === undefined || credentials === undefined) {
    reject(rej.problems);
  }
  return { ...clusterPart, credentials };
}

function findNamed(
  doc: YamlMap,
  list: 'clusters' | 'users' | 'contexts',
  name: string,
  bodyKey: 'cluster' | 'user' | 'context',
): { index: number; body: YamlMap } {
  const entries = doc[list];
  if (!Array.isArray(entries)) {
    rejectOne(list, 'must be a list');
  }
  if (entries.length > MAX_ENTRIES) {
    rejectOne(list, `more than ${MAX_ENTRIES} entries`);
  }
  const matches = entries
    .map((e: unknown, index) => ({ e, index }))
    .filter(({ e }) => isMap(e) && e.name === name);
  if (matches.length === 0) {
    rejectOne(list, `has no entry named by the selected context`);
  }
  if (matches.length > 1) {
    rejectOne(list, 'has several entries with the selected name');
  }
  const { e, index } = matches[0];
  const body = (e as YamlMap)[bodyKey];
  if (!isMap(body)) {
    rejectOne(`${list}[${index}].${bodyKey}`, 'must be a mapping');
  }
  return { index, body };
}

function vetCluster(
  body: YamlMap,
  path: string,
  options: SanitizeOptions,
  rej: Rejection,
): Omit<VettedKubeconfig, 'credentials'> | undefined {
  let server: string | undefined;
  let certificateAuthorityData: string | undefined;
  let tlsServerName: string | undefined;
  let insecureSkipTlsVerify = false;
  let proxyUrl: string | undefined;
  const policy = { allowPrivate: options.allowPrivateAddresses };

  for (const [key, value] of Object.entries(body)) {
    const field = `${path}.${key}`;
    if (FORBIDDEN_CLUSTER_FIELDS[key] !== undefined) {
      rej.add(field, FORBIDDEN_CLUSTER_FIELDS[key]);
      continue;
    }
    switch (key) {
      case 'server':
        server = vetServer(value, field, options, rej);
        break;
      case 'certificate-authority-data':
        if (base64PemCertificates(value) === undefined) {
          rej.add(field, 'must be base64 of one or more PEM certificates');
        } else {
          certificateAuthorityData = value as string;
        }
        break;
      case 'tls-server-name':
        if (typeof value !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(value)) {
          rej.add(field, 'must be a host name');
        } else {
          tlsServerName = value;
        }
        break;
      case 'insecure-skip-tls-verify':
        if (value === true) {
          if (options.allowInsecureSkipTlsVerify) {
            insecureSkipTlsVerify = true;
          } else {
            rej.add(
              field,
              'TLS verification can only be skipped when the request opts in with insecureSkipTlsVerify: true',
            );
          }
        } else if (value !== false) {
          rej.add(field, 'must be true or false');
        }
        break;
      case 'proxy-url':
        if (!options.allowProxyUrl) {
          rej.add(
            field,
            'proxies are not allowed by configuration (GITFLEET_KUBECONFIG_ALLOW_PROXY_URL)',
          );
        } else {
          proxyUrl = vetUrl(value, field, ['http:', 'https:', 'socks5:', 'socks:'], policy, rej);
        }
        break;
      default:
        if (!IGNORED_FIELDS.has(key)) {
          rej.add(field, 'unsupported field');
        }
    }
  }
  if (server === undefined) {
    if (body.server === undefined) {
      rej.add(`${path}.server`, 'is missing');
    }
    return undefined;
  }
  if (server.startsWith('http:') && !insecureSkipTlsVerify) {
    rej.add(
      `${path}.server`,
      'http:// servers also need insecure-skip-tls-verify with the request opt-in',
    );
  }
  return {
    server,
    ...(certificateAuthorityData !== undefined ? { certificateAuthorityData } : {}),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    insecureSkipTlsVerify,
    ...(proxyUrl !== undefined ? { proxyUrl } : {}),
  };
}

function vetServer(
  value: unknown,
  field: string,
  options: SanitizeOptions,
  rej: Rejection,
): string | undefined {
  const schemes = options.allowHttp ? ['https:', 'http:'] : ['https:'];
  const url = vetUrl(value, field, schemes, { allowPrivate: options.allowPrivateAddresses }, rej);
  return url?.replace(/\/+$/, '');
}

function vetUrl(
  value: unknown,
  field: string,
  schemes: readonly string[],
  policy: { allowPrivate: boolean },
  rej: Rejection,
): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) {
    rej.add(field, 'must be a URL');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    rej.add(field, 'must be a URL');
    return undefined;
  }
  if (!schemes.includes(url.protocol)) {
    rej.add(field, `must use ${schemes.map((s) => s.replace(':', '://')).join(' or ')}`);
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    rej.add(field, 'must not contain credentials');
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') {
    rej.add(field, 'must not contain a query or fragment');
    return undefined;
  }
  const problem = hostProblem(url.hostname, policy);
  if (problem !== undefined) {
    rej.add(field, problem);
    return undefined;
  }
  return url.toString();
}

function vetUser(body: YamlMap, path: string, rej: Rejection): VettedCredentials | undefined {
  let token: string | undefined;
  let cert: string | undefined;
  let key: string | undefined;
  const before = rej.problems.length;
  for (const [k, value] of Object.entries(body)) {
    const field = `${path}.${k}`;
    if (FORBIDDEN_USER_FIELDS[k] !== undefined) {
      rej.add(field, FORBIDDEN_USER_FIELDS[k]);
      continue;
    }
    switch (k) {
      case 'token':
        // A bearer token goes into a header: printable ASCII only, no whitespace.
        if (typeof value !== 'string' || !/^[\x21-\x7e]{1,16384}$/.test(value)) {
          rej.add(field, 'must be a non-empty token without whitespace');
        } else {
          token = value;
        }
        break;
      case 'client-certificate-data':
        if (base64PemCertificates(value) === undefined) {
          rej.add(field, 'must be base64 of a PEM certificate');
        } else {
          cert = value as string;
        }
        break;
      case 'client-key-data':
        if (!isPrivateKey(value)) {
          rej.add(field, 'must be base64 of an unencrypted PEM private key');
        } else {
          key = value as string;
        }
        break;
      default:
        if (!IGNORED_FIELDS.has(k)) {
          rej.add(field, 'unsupported field');
        }
    }
  }
  if (rej.problems.length > before) {
    return undefined;
  }
  const hasCert = cert !== undefined || key !== undefined;
  if (token !== undefined && hasCert) {
    rej.add(path, 'use either token or client-certificate-data with client-key-data, not both');
    return undefined;
  }
  if (token !== undefined) {
    return { kind: 'token', token };
  }
  if (cert !== undefined && key !== undefined) {
    return { kind: 'clientCertificate', clientCertificateData: cert, clientKeyData: key };
  }
  if (hasCert) {
    rej.add(path, 'client-certificate-data and client-key-data must be given together');
    return undefined;
  }
  rej.add(path, 'needs credentials: token, or client-certificate-data with client-key-data');
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

function decodeBase64(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 64 * 1024 || !BASE64.test(value)) {
    return undefined;
  }
  return Buffer.from(value, 'base64').toString('utf8');
}

function base64PemCertificates(value: unknown): X509Certificate[] | undefined {
  const pem = decodeBase64(value);
  return pem === undefined ? undefined : pemCertificates(pem);
}

function isPrivateKey(value: unknown): boolean {
  const pem = decodeBase64(value);
  if (pem === undefined || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return false;
  }
  try {
    createPrivateKey({ key: pem, format: 'pem' });
    return true;
  } catch {
    return false;
  }
}

/** Re-checks the stored subset when it is read back (defence against a corrupted row). */
export function parseVettedKubeconfig(json: string): VettedKubeconfig {
  const v = JSON.parse(json) as Partial<VettedKubeconfig> | null;
  const c = v?.credentials as Partial<Record<string, unknown>> | undefined;
  const validCredentials =
    c !== undefined &&
    ((c.kind === 'token' && typeof c.token === 'string' && c.token !== '') ||
      (c.kind === 'clientCertificate' &&
        typeof c.clientCertificateData === 'string' &&
        typeof c.clientKeyData === 'string'));
  if (
    v === null ||
    typeof v !== 'object' ||
    typeof v.server !== 'string' ||
    typeof v.insecureSkipTlsVerify !== 'boolean' ||
    !validCredentials
  ) {
    throw new ClusterError('CredentialsUnavailable', 'Stored cluster credentials are invalid');
  }
  return v as VettedKubeconfig;
}
