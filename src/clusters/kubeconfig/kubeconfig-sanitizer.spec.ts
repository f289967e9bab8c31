import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildKubeConfig } from 'src/clusters/connection/cluster-client.factory';
import {
  kubeconfigFixture,
  KubeconfigFixture,
  kubeconfigObject,
} from 'test/support/registry/kubeconfig-fixtures';
import { KUBECONFIG_MAX_BYTES, sanitizeKubeconfig, SanitizeOptions } from './kubeconfig-sanitizer';

// The CommonJS module objects client-node calls through at run time.
const req = createRequire(join(process.cwd(), 'package.json'));
const childProcess = req('node:child_process') as typeof import('node:child_process');
const fs = req('node:fs') as typeof import('node:fs');

const ADMIN: SanitizeOptions = {
  allowPrivateAddresses: true,
  allowInsecureSkipTlsVerify: false,
  allowProxyUrl: false,
  allowHttp: false,
};
const SECRET_VALUE = 'secret-canary-value-9f8e7d';

let f: KubeconfigFixture;
let dir: string;
let marker: string;
let tokenFile: string;

beforeAll(async () => {
  f = await kubeconfigFixture();
  dir = mkdtempSync(join(tmpdir(), 'gitfleet-sanitizer-'));
  marker = join(dir, 'exec-ran');
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'file-token-canary');
});

afterEach(() => {
  vi.restoreAllMocks();
});

function rejection(
  text: string,
  options: SanitizeOptions = ADMIN,
): { field: string; message: string } {
  try {
    sanitizeKubeconfig(text, options);
  } catch (error) {
    const e = error as { code?: string; message: string; details?: { field: string }[] };
    expect(e.code).toBe('KubeconfigRejected');
    expect(e.message).not.toContain(SECRET_VALUE);
    return { field: e.details?.map((d) => d.field).join(',') ?? '', message: e.message };
  }
  throw new Error('expected a rejection');
}

describe('sanitizeKubeconfig', () => {
  it('keeps only the vetted subset of a token kubeconfig (YAML and JSON)', () => {
    const obj = kubeconfigObject(f, { cluster: { 'tls-server-name': 'api.example' } });
    for (const text of [stringify(obj), JSON.stringify(obj)]) {
      expect(sanitizeKubeconfig(text, ADMIN)).toEqual({
        server: 'https://10.0.0.1:6443',
        certificateAuthorityData: f.caData,
        tlsServerName: 'api.example',
        insecureSkipTlsVerify: false,
        credentials: { kind: 'token', token: 'token-canary-abcdef' },
      });
    }
  });

  it('accepts a client certificate user', () => {
    const text = stringify(
      kubeconfigObject(f, {
        user: { 'client-certificate-data': f.clientCertData, 'client-key-data': f.clientKeyData },
      }),
    );
    expect(sanitizeKubeconfig(text, ADMIN).credentials).toEqual({
      kind: 'clientCertificate',
      clientCertificateData: f.clientCertData,
      clientKeyData: f.clientKeyData,
    });
  });

  it('takes the named context, ignoring the others', () => {
    const obj = kubeconfigObject(f);
    (obj.contexts as unknown[]).push({ name: 'other', context: { cluster: 'c2', user: 'u2' } });
    (obj.clusters as unknown[]).push({ name: 'c2', cluster: { server: 'https://10.0.0.2' } });
    (obj.users as unknown[]).push({ name: 'u2', user: { token: 'other-token' } });
    // The unselected user is never looked at, and never stored.
    (obj.users as { user: unknown }[])[0].user = { exec: { command: 'evil' } };
    expect(sanitizeKubeconfig(stringify(obj), { ...ADMIN, context: 'other' }).server).toBe(
      'https://10.0.0.2',
    );
  });

  const user = (u: Record<string, unknown>): string => stringify(kubeconfigObject(f, { user: u }));
  const cluster = (c: Record<string, unknown>): string =>
    stringify(kubeconfigObject(f, { cluster: c }));

  it.each([
    [
      'exec',
      () =>
        user({
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: 'sh',
            args: ['-c', `touch ${marker}`],
            env: [{ name: 'PATH_CANARY', value: SECRET_VALUE }],
          },
        }),
    ],
    [
      'auth-provider',
      () =>
        user({
          'auth-provider': {
            name: 'gcp',
            config: { 'cmd-path': 'sh', 'cmd-args': `-c "touch ${marker}"` },
          },
        }),
    ],
    ['token-file', () => user({ 'token-file': tokenFile })],
    ['tokenFile', () => user({ tokenFile })],
    [
      'client-certificate',
      () => user({ 'client-certificate': '/etc/passwd', 'client-key-data': f.clientKeyData }),
    ],
    [
      'client-key',
      () => user({ 'client-certificate-data': f.clientCertData, 'client-key': '/etc/shadow' }),
    ],
    ['username', () => user({ username: 'admin', password: SECRET_VALUE })],
    ['as', () => user({ token: SECRET_VALUE, as: 'system:admin' })],
    ['as-groups', () => user({ token: SECRET_VALUE, 'as-groups': ['system:masters'] })],
    ['as-uid', () => user({ token: SECRET_VALUE, 'as-uid': '0' })],
    ['as-user-extra', () => user({ token: SECRET_VALUE, 'as-user-extra': { a: ['b'] } })],
    [
      'certificate-authority',
      () =>
        cluster({
          'certificate-authority': '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
        }),
    ],
    ['proxy-url', () => cluster({ 'proxy-url': 'http://10.0.0.9:3128' })],
    ['insecure-skip-tls-verify', () => cluster({ 'insecure-skip-tls-verify': true })],
  ])('rejects %s with a 400 naming the field, without side effects', (field, text) => {
    const envBefore = { ...process.env };
    const spawn = vi.spyOn(childProcess, 'spawn');
    const execSync = vi.spyOn(childProcess, 'execSync');
    const readFileSync = vi.spyOn(fs, 'readFileSync');
    const r = rejection(text());
    expect(r.field).toContain(`.${field}`);
    expect(r.message).toContain(field);
    expect(spawn).not.toHaveBeenCalled();
    expect(execSync).not.toHaveBeenCalled();
    expect(readFileSync).not.toHaveBeenCalled();
    expect(existsSync(marker)).toBe(false);
    expect(process.env).toEqual(envBefore);
  });

  it.each([
    ['http://10.0.0.1', 'must use https://'],
    ['https://169.254.169.254', 'metadata'],
    ['https://[fd00:ec2::254]', 'metadata'],
    ['https://[::ffff:169.254.169.254]', 'metadata'],
    ['https://metadata.google.internal', 'metadata'],
    ['https://user:pw@10.0.0.1', 'credentials'],
    ['file:///etc/passwd', 'must use https://'],
  ])('rejects server %s', (server, message) => {
    const r = rejection(stringify(kubeconfigObject(f, { server })));
    expect(r.field).toBe('kubeconfig.clusters[0].cluster.server');
    expect(r.message).toContain(message);
  });

  it('refuses loopback and private servers when the caller does not allow them (tenant self-registration)', () => {
    for (const server of [
      'https://127.0.0.1:6443',
      'https://10.1.2.3',
      'https://localhost',
      'https://[::1]',
    ]) {
      const r = rejection(stringify(kubeconfigObject(f, { server })), {
        ...ADMIN,
        allowPrivateAddresses: false,
      });
      expect(r.message).toMatch(/loopback|private/);
    }
    expect(
      sanitizeKubeconfig(
        stringify(kubeconfigObject(f, { server: 'https://127.0.0.1:6443' })),
        ADMIN,
      ).server,
    ).toBe('https://127.0.0.1:6443');
  });

  it('allows insecure-skip-tls-verify only with the request opt-in, and proxy-url only by configuration', () => {
    const insecure = cluster({ 'insecure-skip-tls-verify': true });
    expect(
      sanitizeKubeconfig(insecure, { ...ADMIN, allowInsecureSkipTlsVerify: true })
        .insecureSkipTlsVerify,
    ).toBe(true);
    const proxied = cluster({ 'proxy-url': 'http://10.0.0.9:3128' });
    expect(sanitizeKubeconfig(proxied, { ...ADMIN, allowProxyUrl: true }).proxyUrl).toBe(
      'http://10.0.0.9:3128/',
    );
    const metadataProxy = cluster({ 'proxy-url': 'http://169.254.169.254' });
    expect(rejection(metadataProxy, { ...ADMIN, allowProxyUrl: true }).field).toContain(
      'proxy-url',
    );
  });

  it('rejects unknown fields, missing credentials and mixed credentials', () => {
    expect(rejection(cluster({ 'some-new-field': 1 })).field).toContain('some-new-field');
    expect(rejection(user({})).field).toBe('kubeconfig.users[0].user');
    expect(
      rejection(
        user({
          token: 't',
          'client-certificate-data': f.clientCertData,
          'client-key-data': f.clientKeyData,
        }),
      ).field,
    ).toBe('kubeconfig.users[0].user');
    expect(rejection(user({ 'client-certificate-data': f.clientCertData })).field).toBe(
      'kubeconfig.users[0].user',
    );
    expect(rejection(user({ token: 'has space' })).field).toContain('token');
    expect(
      rejection(
        cluster({ 'certificate-authority-data': Buffer.from('not a cert').toString('base64') }),
      ).field,
    ).toContain('certificate-authority-data');
  });

  it('rejects a missing context, alias bombs, oversize and non-YAML input without echoing it', () => {
    const noContext = kubeconfigObject(f);
    delete noContext['current-context'];
    expect(rejection(stringify(noContext)).field).toBe('kubeconfig.current-context');
    expect(rejection(stringify(kubeconfigObject(f)), { ...ADMIN, context: 'nope' }).field).toBe(
      'kubeconfig.contexts',
    );
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    expect(rejection(bomb).field).toBe('kubeconfig');
    expect(rejection('x'.repeat(KUBECONFIG_MAX_BYTES + 1)).message).toContain('larger than');
    const garbage = rejection(`{ "token": "${SECRET_VALUE}" `);
    expect(garbage.field).toBe('kubeconfig');
  });
});

describe('buildKubeConfig', () => {
  it('builds a client from vetted values without reading files or spawning processes', async () => {
    const spawn = vi.spyOn(childProcess, 'spawn');
    const readFileSync = vi.spyOn(fs, 'readFileSync');
    const vetted = sanitizeKubeconfig(
      stringify(
        kubeconfigObject(f, {
          user: { 'client-certificate-data': f.clientCertData, 'client-key-data': f.clientKeyData },
        }),
      ),
      ADMIN,
    );
    const kc = buildKubeConfig('00000000-0000-4000-8000-000000000001', vetted, {
      impersonateUser: 'system:serviceaccount:a:b',
    });
    const opts: { headers?: Record<string, string>; cert?: unknown; ca?: unknown } = {};
    await kc.applyToHTTPSOptions(opts);
    expect(opts.cert).toBeDefined();
    expect(opts.ca).toBeDefined();
    expect(opts.headers?.['Impersonate-User']).toBe('system:serviceaccount:a:b');
    expect(spawn).not.toHaveBeenCalled();
    expect(readFileSync).not.toHaveBeenCalled();
  });
});
