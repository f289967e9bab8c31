import { SetMetadata } from '@nestjs/common';
import type { PrincipalRole } from './principal';

/**
 * Every route declares who may call it. The global AccessGuard refuses routes
 * without a rule, so a forgotten rule fails closed.
 *
 * - `public`: no authentication (health, metrics, OpenAPI, webhook receivers);
 * - `authenticated`: any valid principal (e.g. `GET /me`);
 * - `admin`: platform admins only (admin token or an admin OIDC group);
 * - `tenant`: at least `role` in the tenant named by the route parameter
 *   `param` (default `tenant`); platform admins pass. A tenant the caller holds
 *   no role in answers 404, exactly like a missing one.
 */
export type AccessRule =
  | { kind: 'public' }
  | { kind: 'authenticated' }
  | { kind: 'admin' }
  | { kind: 'tenant'; role: PrincipalRole; param?: string };

export const ACCESS_RULE = 'gitfleet:access-rule';

export const Access = (rule: AccessRule): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, rule);

/** Order of tenant roles: an owner may do what an editor may, an editor what a viewer may. */
export const ROLE_RANK: Readonly<Record<PrincipalRole, number>> = {
  viewer: 1,
  editor: 2,
  owner: 3,
};

export function roleAtLeast(held: PrincipalRole, required: PrincipalRole): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[required];
}
