import type { Request } from 'express';

export type PrincipalRole = 'owner' | 'editor' | 'viewer';

/**
 * Who is calling, established by the AccessGuard from the bearer token:
 * - `admin`: the admin token (platform admin);
 * - `user`: a verified OIDC identity; `platformAdmin` when one of its groups is an admin group;
 * - `token`: a tenant API token, bound to one tenant and one role.
 */
export type Principal =
  | { readonly kind: 'admin'; readonly name: string }
  | {
      readonly kind: 'user';
      readonly name: string;
      readonly groups: readonly string[];
      readonly platformAdmin: boolean;
    }
  | {
      readonly kind: 'token';
      readonly name: string;
      readonly tokenId: string;
      readonly tenantId: string;
      readonly tenantName: string;
      readonly role: PrincipalRole;
    };

export function isPlatformAdmin(p: Principal): boolean {
  return p.kind === 'admin' || (p.kind === 'user' && p.platformAdmin);
}

export function principalOf(req: Request): Principal | undefined {
  return (req as Request & { principal?: Principal }).principal;
}

export function setPrincipal(req: Request, principal: Principal): void {
  (req as Request & { principal?: Principal }).principal = principal;
}

/** The tenant role the AccessGuard established for this request (platform admins: owner). */
export interface TenantAccess {
  readonly tenant: string;
  readonly role: PrincipalRole;
}

export function tenantAccessOf(req: Request): TenantAccess | undefined {
  return (req as Request & { tenantAccess?: TenantAccess }).tenantAccess;
}

export function setTenantAccess(req: Request, access: TenantAccess): void {
  (req as Request & { tenantAccess?: TenantAccess }).tenantAccess = access;
}

/** `kind:name`, as the audit log and `createdBy` fields record a principal. */
export function principalLabel(p: Principal): string {
  return `${p.kind}:${p.name}`;
}
