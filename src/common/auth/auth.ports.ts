import type { PrincipalRole, Principal } from './principal';

/**
 * Turns a bearer token that is not the admin token into a principal (OIDC JWT,
 * tenant API token), or undefined when it is not valid. Never logs the token.
 */
export interface BearerAuthenticator {
  authenticate(token: string): Promise<Principal | undefined>;
}

/**
 * The caller's role in a tenant (by name), or undefined when it holds none or
 * the tenant does not exist; resolved from the current role bindings on every call.
 */
export interface TenantRoleResolver {
  roleIn(principal: Principal, tenantName: string): Promise<PrincipalRole | undefined>;
}

export const BEARER_AUTHENTICATOR = Symbol('BEARER_AUTHENTICATOR');
export const TENANT_ROLE_RESOLVER = Symbol('TENANT_ROLE_RESOLVER');
