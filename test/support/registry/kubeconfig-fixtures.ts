import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

/** A CA and one client certificate signed by it (kept independent of the kube-sim helpers). */
async function createCaAndClient(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const now = Date.now();
  const caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=gitfleet-test-ca',
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000 * 365),
    signingAlgorithm: SIGN,
    keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const leaf = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=tester, O=system:masters',
    issuer: ca.subject,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000 * 365),
    signingAlgorithm: SIGN,
    publicKey: leaf.publicKey,
    signingKey: caKeys.privateKey,
  });
  return {
    caPem: ca.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: await keyPem(leaf.privateKey),
  };
}

export interface KubeconfigFixture {
  caData: string;
  clientCertData: string;
  clientKeyData: string;
}

let cached: Promise<KubeconfigFixture> | undefined;

/** Real PEM material (base64, as in kubeconfig `*-data` fields) for sanitizer tests. */
export function kubeconfigFixture(): Promise<KubeconfigFixture> {
  cached ??= (async () => {
    const { caPem, certPem, keyPem: key } = await createCaAndClient();
    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    return { caData: b64(caPem), clientCertData: b64(certPem), clientKeyData: b64(key) };
  })();
  return cached;
}

type Dict = Record<string, unknown>;

/** A kubeconfig object with one context; override cluster/user fields per test. */
export function kubeconfigObject(
  f: KubeconfigFixture,
  opts: { cluster?: Dict; user?: Dict; server?: string; token?: string } = {},
): Dict {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [
      {
        name: 'c',
        cluster: {
          server: opts.server ?? 'https://10.0.0.1:6443',
          'certificate-authority-data': f.caData,
          ...opts.cluster,
        },
      },
    ],
    users: [{ name: 'u', user: opts.user ?? { token: opts.token ?? 'token-canary-abcdef' } }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
  };
}
