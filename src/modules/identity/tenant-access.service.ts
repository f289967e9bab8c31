import { Injectable } from '@nestjs/common';
import { ROLE_RANK } from 'src/common/auth/access.decorator';
import type { TenantRoleResolver } from 'src/common/auth/auth.ports';
import type { Principal, PrincipalRole } from 'src/common/auth/principal';
import { TenantMembershipRepository } from './tenant-membership.repository';

/** Highest role per tenant. */
export function highestRoles(
  rows: readonly { tenant: string; role: PrincipalRole }[],
): Map<string, PrincipalRole> {
  const out = new Map<string, PrincipalRole>();
  for (const { tenant, role } of rows) {
    const held = out.get(tenant);
    if (held === undefined || ROLE_RANK[role] > ROLE_RANK[held]) {
      out.set(tenant, role);
    }
  }
  return out;
}

/**
 * Resolves a principal's role in a tenant. Users: the highest role among the
 * tenant's bindings naming their user name or one of their groups (no groups
 * claim: only user bindings count). API tokens: their role in their own tenant
 * only. Platform admins are handled by the guard before this is asked.
 */
@Injectable()
export class TenantAccessService implements TenantRoleResolver {
  constructor(private readonly memberships: TenantMembershipRepository) {}

  async roleIn(principal: Principal, tenantName: string): Promise<PrincipalRole | undefined> {
    switch (principal.kind) {
      case 'admin':
        return 'owner';
      case 'token':
        return principal.tenantName === tenantName ? principal.role : undefined;
      case 'user':
        return highestRoles(
          await this.memberships.rolesOf(principal.name, principal.groups, tenantName),
        ).get(tenantName);
    }
  }

  /** Every tenant the principal holds a role in, by name. */
  async tenantsOf(principal: Principal): Promise<Map<string, PrincipalRole>> {
    switch (principal.kind) {
      case 'admin':
        return new Map();
      case 'token':
        return new Map([[principal.tenantName, principal.role]]);
      case 'user':
        return highestRoles(await this.memberships.rolesOf(principal.name, principal.groups));
    }
  }
}
