import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AuthError } from './auth.errors';
import { principalOf, type TenantAccess, tenantAccessOf, type Principal } from './principal';

/** The authenticated principal of the request (set by the AccessGuard). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal => {
    const principal = principalOf(ctx.switchToHttp().getRequest<Request>());
    if (principal === undefined) {
      throw new AuthError('Unauthenticated', 'A valid bearer token is required');
    }
    return principal;
  },
);

/** The caller's role in the route's tenant (set by the AccessGuard on `tenant` rules). */
export const CurrentTenantAccess = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): TenantAccess => {
    const access = tenantAccessOf(ctx.switchToHttp().getRequest<Request>());
    if (access === undefined) {
      throw new AuthError('Forbidden', 'This route is not available');
    }
    return access;
  },
);
