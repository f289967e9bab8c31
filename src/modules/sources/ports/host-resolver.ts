import { lookup } from 'node:dns/promises';
import { Injectable } from '@nestjs/common';

/** Port for DNS, used to refuse names that resolve to metadata or link-local addresses. */
@Injectable()
export class HostResolver {
  async resolve(host: string): Promise<string[]> {
    const addresses = await lookup(host, { all: true, verbatim: true });
    return addresses.map((entry) => entry.address);
  }
}
