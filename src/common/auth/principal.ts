import type { Request } from 'express';

/** Who is calling. Tenant principals arrive with OIDC; today only the admin token exists. */
export type Principal = { kind: 'admin'; name: string };

export function principalOf(req: Request): Principal | undefined {
  return (req as Request & { principal?: Principal }).principal;
}

export function setPrincipal(req: Request, principal: Principal): void {
  (req as Request & { principal?: Principal }).principal = principal;
}
