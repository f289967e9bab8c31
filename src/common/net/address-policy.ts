import { BlockList, isIP } from 'node:net';

/**
 * The one outbound address policy: which hosts and IP addresses gitfleet
 * connects to, for kubeconfig API servers, source URLs and any future URL.
 * Cloud metadata and link-local addresses are always refused (they hand out
 * the management cluster's own credentials). Loopback and private ranges are
 * allowed for admin registrations and sources, and refused where tenants
 * register clusters themselves.
 */
export interface AddressPolicy {
  readonly allowPrivate: boolean;
}

const metadata = new BlockList();
metadata.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, AWS/GCP/Azure/OCI metadata
metadata.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network"; 0.0.0.0 reaches localhost
metadata.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
metadata.addSubnet('fe80::', 10, 'ipv6'); // link-local
metadata.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
metadata.addAddress('::', 'ipv6'); // unspecified

const privateRanges = new BlockList();
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6'); // unique local

// Cloud metadata services answer on these names.
const METADATA_HOSTNAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** Expands an IPv6 literal (no zone id) to eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:169.254.169.254) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map((part) => Number.parseInt(part, 10));
    const high = (((a ?? 0) << 8) | (b ?? 0)).toString(16);
    const low = (((c ?? 0) << 8) | (d ?? 0)).toString(16);
    text = `${text.slice(0, v4.index)}${high}:${low}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  const zeros =
    tail === undefined
      ? []
      : new Array<number>(Math.max(0, 8 - first.length - last.length)).fill(0);
  return [...first, ...zeros, ...last].slice(0, 8);
}

/**
 * Brackets and a zone id are dropped; IPv4-mapped and IPv4-compatible IPv6
 * (`::ffff:a.b.c.d`, `::ffff:a9fe:a9fe`, `::a.b.c.d`) are judged as the IPv4
 * address they carry, except `::` and `::1`, which stay IPv6.
 */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(bare);
  if (version === 4) {
    return { address: bare, family: 'ipv4' };
  }
  if (version !== 6) {
    return undefined;
  }
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = ipv6Groups(bare);
  const embedsIpv4 =
    g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0);
  if (embedsIpv4 && !(g5 === 0 && g6 === 0)) {
    return { address: `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`, family: 'ipv4' };
  }
  return { address: bare, family: 'ipv6' };
}

/** Why an IP address is refused, or undefined when it may be used (or is not an IP address). */
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

/** True for addresses nothing may reach under any policy: link-local and cloud metadata endpoints. */
export function isForbiddenAddress(address: string): boolean {
  return addressProblem(address, { allowPrivate: true }) !== undefined;
}

/** Why a kubeconfig server host (name or IP literal) is refused, or undefined. */
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

/**
 * Checks a host name or literal from a Source URL (loopback and private hosts
 * allowed). Returns the reason for a refusal, or undefined when the host is
 * acceptable. The caller checks the resolved addresses with isForbiddenAddress.
 */
export function hostRefusal(rawHost: string): string | undefined {
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  if (host === '') {
    return 'the URL has no host';
  }
  if (host.startsWith('-')) {
    return 'the host must not start with "-"';
  }
  if (METADATA_HOSTNAMES.has(host)) {
    return 'cloud metadata hosts are not allowed';
  }
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) {
    return isForbiddenAddress(bare)
      ? 'link-local and metadata addresses are not allowed'
      : undefined;
  }
  // inet_aton() still accepts 2852039166, 0xa9fea9fe or 169.254.43518: such spellings
  // of an address could hide a metadata address from the check above.
  if (host.split('.').every((label) => /^(0x[0-9a-f]*|[0-9]+)$/.test(label))) {
    return 'numeric host names must be written as dotted-quad IPv4 or bracketed IPv6';
  }
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) {
    return 'the host name contains characters that are not allowed';
  }
  return undefined;
}
