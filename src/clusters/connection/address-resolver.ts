import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Port for DNS, so small tests need no network. */
export abstract class AddressResolver {
  abstract resolve(host: string): Promise<string[]>;
}

export class DnsAddressResolver extends AddressResolver {
  async resolve(host: string): Promise<string[]> {
    const bare = host.startsWith('[') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      return [bare];
    }
    const found = await lookup(bare, { all: true, verbatim: true });
    return found.map((a) => a.address);
  }
}
