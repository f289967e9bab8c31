import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process's identity in leases and queue claims: host, pid and a random
 * suffix, so a restarted process on the same host never passes for its
 * predecessor (whose leases must expire, not be silently inherited).
 */
export const REPLICA_ID = Symbol('REPLICA_ID');

export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
