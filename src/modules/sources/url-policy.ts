import { isIP } from 'node:net';

// Cloud metadata services answer on these names; a Source pointing there is an SSRF attempt.
const FORBIDDEN_HOSTNAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

function ipv4Octets(address: string): number[] {
  return address.split('.').map((part) => Number.parseInt(part, 10));
}

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

function isForbiddenIpv4(address: string): boolean {
  const [a, b, c, d] = ipv4Octets(address);
  return (
    (a === 169 && b === 254) || // link-local, AWS/GCP/Azure/OCI metadata
    a === 0 || // "this network"; 0.0.0.0 reaches the local host
    (a === 100 && b === 100 && c === 100 && d === 200) // Alibaba Cloud metadata
  );
}

/** True for addresses no Source may reach: link-local and cloud metadata endpoints. */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  switch (isIP(bare)) {
    case 4:
      return isForbiddenIpv4(bare);
    case 6: {
      const g = ipv6Groups(bare);
      const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
      if ((g0 & 0xffc0) === 0xfe80) {
        return true; // fe80::/10 link-local
      }
      if (
        g0 === 0xfd00 &&
        g1 === 0x0ec2 &&
        g2 === 0 &&
        g3 === 0 &&
        g4 === 0 &&
        g5 === 0 &&
        g6 === 0 &&
        g7 === 0x254
      ) {
        return true; // AWS IMDS over IPv6
      }
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0)) {
        // IPv4-mapped / -compatible: judge the embedded IPv4 address.
        if (g5 === 0 && g6 === 0) {
          return g7 === 0; // "::" is unspecified; "::1" is loopback
        }
        return isForbiddenIpv4(`${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`);
      }
      return false;
    }
    default:
      return false;
  }
}

/**
 * Checks a host name or literal from a Source URL. Returns the reason for a refusal,
 * or undefined when the host is acceptable. DNS is checked separately (resolveAndCheck).
 */
export function hostRefusal(rawHost: string): string | undefined {
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  if (host === '') {
    return 'the URL has no host';
  }
  if (host.startsWith('-')) {
    return 'the host must not start with "-"';
  }
  if (FORBIDDEN_HOSTNAMES.has(host)) {
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
