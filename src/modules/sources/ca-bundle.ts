import { pemCertificates } from 'src/common/tls/pem-certificates';

/** The certificates of a source's PEM CA bundle, re-encoded; undefined when it is broken or empty. */
export function parseCaBundle(pem: string): string[] | undefined {
  return pemCertificates(pem)?.map((certificate) => certificate.toString());
}
