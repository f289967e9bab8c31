import { BlockList, isIP } from 'node:net';

/**
 * Which API server addresses gitfleet connects to. Cloud metadata and
 * link-local addresses are always refused (they hand out the management
 * cluster's own credentials). Loopback and private ranges are allowed for
 * admin registrations and refused where tenants register clusters themselves.
 */
export interface AddressPolicy {
  readonly allowPrivate: boolean;
}

const metadata = new BlockList();
metadata.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, AWS/GCP/Azure metadata
metadata.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network"; 0.0.0.0 reaches localhost
metadata.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
metadata.addSubnet('fe80::', 10, 'ipv6'); // link-local
metadata.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
metadata.addAddress('::', 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6'); // unique local

const METADATA_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address it maps to. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped !== null) {
    return { address: mapped[1], family: 'ipv4' };
  }
  const version = isIP(bare);
  if (version === 4) {
    return { address: bare, family: 'ipv4' };
  }
  if (version === 6) {
    return { address: bare, family: 'ipv6' };
  }
  return undefined;
}

/** Why an IP address is refused, or undefined when it may be used. */
export function addressProblem(address: string, policy: AddressPolicy): string | undefined {
  const ip = normalize(address);
  if (ip === undefined) {
    return undefined;
  }
  if (metadata.check(ip.address, ip.family)) {
    return 'points at a link-local or cloud metadata address';
  }
  if (!policy.allowPrivate && privateRanges.check(ip.address, ip.family)) {
    return 'points at a loopback or private address';
  }
  return undefined;
}

/** Why a URL host (name or IP literal) is refused, or undefined. */
export function hostProblem(hostname: string, policy: AddressPolicy): string | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTNAMES.has(host)) {
    return 'points at a cloud metadata host';
  }
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) {
    return 'points at a loopback address';
  }
  return addressProblem(host, policy);
}
