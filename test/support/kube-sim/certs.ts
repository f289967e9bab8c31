import 'reflect-metadata';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface CertPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends CertPair {
  issue(opts: IssueOptions): Promise<CertPair>;
}

export interface IssueOptions {
  commonName: string;
  organizations?: string[];
  server?: boolean;
}

let serial = Date.now();

function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(16, '0');
}

function dn(cn: string, orgs: string[] = []): string {
  // Distinguished-name strings need commas and equals signs escaped.
  const esc = (s: string): string => s.replace(/([,=+<>#;"\\])/g, '\\$1');
  return [`CN=${esc(cn)}`, ...orgs.map((o) => `O=${esc(o)}`)].join(', ');
}

interface EcKeys {
  pair: webcrypto.CryptoKeyPair;
  pem: string;
}

// Synchronous node:crypto key generation avoids the WebCrypto thread-pool round trip.
function ecKeys(): EcKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pair = {
    publicKey: publicKey.toCryptoKey(EC, true, ['verify']),
    privateKey: privateKey.toCryptoKey(EC, true, ['sign']),
  };
  return { pair, pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Creates a self-signed EC P-256 CA that can issue server and client certificates. */
export async function createCertificateAuthority(name: string): Promise<CertificateAuthority> {
  const ca = ecKeys();
  const keys = ca.pair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: dn(name),
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  const issue = async (opts: IssueOptions): Promise<CertPair> => {
    const leafKeys = ecKeys();
    const leaf = leafKeys.pair;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(
        [opts.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
    ];
    if (opts.server) {
      extensions.push(
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
      );
    }
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: dn(opts.commonName, opts.organizations),
      issuer: caCert.subject,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 3650 * DAY),
      signingAlgorithm: SIGN,
      publicKey: leaf.publicKey,
      signingKey: keys.privateKey,
      extensions,
    });
    return { certPem: cert.toString('pem') + '\n', keyPem: leafKeys.pem };
  };
  return { certPem: caCert.toString('pem') + '\n', keyPem: ca.pem, issue };
}
