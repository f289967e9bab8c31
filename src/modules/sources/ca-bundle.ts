import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of a source's PEM CA bundle, each one parsed once to prove it is a
 * certificate. Undefined when the bundle holds none, or one that does not parse: a
 * broken bundle must fail loudly, not quietly trust less (or more) than was meant.
 */
export function parseCaBundle(pem: string): string[] | undefined {
  const blocks = pem.match(PEM_CERTIFICATE);
  if (blocks === null) {
    return undefined;
  }
  try {
    return blocks.map((block) => new X509Certificate(block).toString());
  } catch {
    return undefined;
  }
}
