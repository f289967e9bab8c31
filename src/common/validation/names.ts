/**
 * Kubernetes object names (RFC 1123), the one definition for DTOs, config,
 * policy and rendering. The `*_PATTERN`s check the shape only (pair them with
 * a length check or `@MaxLength`); the `BOUNDED_*` patterns include the length,
 * for a lone `@Matches`.
 */
const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

export const DNS_LABEL_MAX_LENGTH = 63;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;

/** DNS-1123 label shape: lower case letters, digits and `-`, alphanumeric at both ends. */
export const DNS_LABEL_PATTERN = new RegExp(`^${LABEL}$`);
/** DNS-1123 subdomain shape: DNS labels joined by `.`. */
export const DNS_SUBDOMAIN_PATTERN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
/** A DNS-1123 label of at most 63 characters. */
export const BOUNDED_DNS_LABEL_PATTERN = new RegExp(`^(?=.{1,${DNS_LABEL_MAX_LENGTH}}$)${LABEL}$`);
/** A DNS-1123 subdomain of at most 253 characters. */
export const BOUNDED_DNS_SUBDOMAIN_PATTERN = new RegExp(
  `^(?=.{1,${DNS_SUBDOMAIN_MAX_LENGTH}}$)${LABEL}(\\.${LABEL})*$`,
);

/** Kubernetes DNS-1123 label: tenant names, namespaces. */
export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX_LENGTH && DNS_LABEL_PATTERN.test(value);
}

/** DNS-1123 subdomain: cluster names (like Kubernetes object names). */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= DNS_SUBDOMAIN_MAX_LENGTH && DNS_SUBDOMAIN_PATTERN.test(value);
}
