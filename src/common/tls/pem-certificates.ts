import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Every certificate of a PEM bundle, each parsed to prove it is one. Undefined when
 * the bundle holds none, or one that does not parse: a broken bundle must fail
 * loudly, not quietly trust less (or more) than was meant.
 */
export function pemCertificates(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(PEM_CERTIFICATE);
  if (blocks === null) {
    return undefined;
  }
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}
