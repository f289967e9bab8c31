/** Go's x509 wording of TLS verification failures, as Helm and Flux users know them. */
export const X509 = {
  unknownAuthority: 'x509: certificate signed by unknown authority',
  expired: 'x509: certificate has expired or is not yet valid',
  wrongHost: 'x509: certificate is not valid for this host',
} as const;

/**
 * How the source's caCertificate took part: `none` (not set), `only` (trusted instead
 * of the system roots, as git does) or `added` (trusted with them, as the Helm client does).
 */
export type CaTrust = 'none' | 'only' | 'added';

const UNKNOWN_AUTHORITY_HINT: Readonly<Record<CaTrust, string>> = {
  none: "; a private repository's CA goes into the source's caCertificate",
  only: "; the source's caCertificate did not issue it",
  added: "; neither the system roots nor the source's caCertificate issued it",
};

/**
 * The message of a CertificateVerificationFailed for both transports: where, the x509
 * wording, an optional detail in parentheses, and where the CA goes when the issuer is
 * unknown.
 */
export function certificateVerificationMessage(
  where: string,
  x509: string,
  ca: CaTrust,
  detail?: string,
): string {
  const hint = x509 === X509.unknownAuthority ? UNKNOWN_AUTHORITY_HINT[ca] : '';
  const suffix = detail === undefined ? '' : ` (${detail})`;
  return `${where}: TLS certificate verification failed: ${x509}${suffix}${hint}`;
}
