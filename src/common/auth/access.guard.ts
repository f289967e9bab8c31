import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { ACCESS_RULE, AccessRule, roleAtLeast } from './access.decorator';
import { bearerToken, tokenMatches } from './admin-token';
import { AuthError, tenantNotFound } from './auth.errors';
import { AuthFailureLimiter } from './auth-failure-limiter';
import {
  BEARER_AUTHENTICATOR,
  type BearerAuthenticator,
  TENANT_ROLE_RESOLVER,
  type TenantRoleResolver,
} from './auth.ports';
import { isPlatformAdmin, type Principal, setPrincipal, setTenantAccess } from './principal';

/**
 * The one place a request is authenticated and authorized. Routes declare an
 * `@Access` rule; a route without one is refused (fails closed).
 * Authentication: the admin token, else the identity module's authenticator
 * (OIDC JWT or tenant API token). Authorization: platform admins pass every
 * rule; tenant rules resolve the caller's role from the tenant's current role
 * bindings on every request (no cache: a revoked binding is effective at once).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);
  private readonly limiter: AuthFailureLimiter;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(BEARER_AUTHENTICATOR)
    private readonly authenticator?: BearerAuthenticator,
    @Optional()
    @Inject(TENANT_ROLE_RESOLVER)
    private readonly roles?: TenantRoleResolver,
  ) {
    this.limiter = new AuthFailureLimiter(config.authFailuresPerMinute);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const req = context.switchToHttp().getRequest<Request>();
    if (rule === undefined) {
      this.logger.error({ msg: 'route has no access rule; refusing', route: req.path });
      throw new AuthError('Forbidden', 'This route is not available');
    }
    if (rule.kind === 'public') {
      return true;
    }
    const principal = await this.authenticate(req);
    setPrincipal(req, principal);
    switch (rule.kind) {
      case 'authenticated':
        return true;
      case 'admin':
        if (!isPlatformAdmin(principal)) {
          throw new AuthError('Forbidden', 'This needs platform admin rights');
        }
        return true;
      case 'tenant':
        return this.authorizeTenant(req, principal, rule);
    }
  }

  private async authorizeTenant(
    req: Request,
    principal: Principal,
    rule: Extract<AccessRule, { kind: 'tenant' }>,
  ): Promise<boolean> {
    const params = req.params as Record<string, string | undefined>;
    const name = params[rule.param ?? 'tenant'];
    if (typeof name !== 'string' || name === '') {
      this.logger.error({ msg: 'tenant rule without a tenant parameter', route: req.path });
      throw new AuthError('Forbidden', 'This route is not available');
    }
    if (isPlatformAdmin(principal)) {
      setTenantAccess(req, { tenant: name, role: 'owner' });
      return true;
    }
    const role = await this.roles?.roleIn(principal, name);
    if (role === undefined) {
      throw tenantNotFound(name);
    }
    if (!roleAtLeast(role, rule.role)) {
      throw new AuthError('Forbidden', `This needs the ${rule.role} role in tenant "${name}"`);
    }
    setTenantAccess(req, { tenant: name, role });
    return true;
  }

  private async authenticate(req: Request): Promise<Principal> {
    const token = bearerToken(req.header('authorization'));
    if (token === undefined) {
      throw new AuthError('Unauthenticated', 'A valid bearer token is required');
    }
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (this.limiter.blocked(client)) {
      throw new AuthError('TooManyAuthFailures', 'Too many failed authentications; retry later');
    }
    const adminToken = this.config.adminToken;
    if (adminToken !== undefined && tokenMatches(token, adminToken)) {
      return { kind: 'admin', name: 'admin-token' };
    }
    const principal = await this.authenticator?.authenticate(token);
    if (principal === undefined) {
      this.limiter.fail(client);
      throw new AuthError('Unauthenticated', 'A valid bearer token is required');
    }
    return principal;
  }
}
