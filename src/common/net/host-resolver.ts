import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Injectable } from '@nestjs/common';

/**
 * Port for DNS, used to refuse names that resolve to metadata or link-local
 * addresses (see address-policy), and replaceable so small tests need no
 * network. An IP literal (bracketed or not) resolves to itself.
 */
@Injectable()
export class HostResolver {
  async resolve(host: string): Promise<string[]> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      return [bare];
    }
    const addresses = await lookup(bare, { all: true, verbatim: true });
    return addresses.map((entry) => entry.address);
  }
}
