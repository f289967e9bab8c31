import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { CommonError } from 'src/common/errors/app-error';
import { ACCESS_RULE, AccessRule } from './access.decorator';
import { bearerToken, tokenMatches } from './admin-token';
import { setPrincipal } from './principal';

@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const req = context.switchToHttp().getRequest<Request>();
    if (rule === undefined) {
      this.logger.error({ msg: 'route has no access rule; refusing', route: req.path });
      throw new CommonError('Forbidden', 'This route is not available');
    }
    switch (rule.kind) {
      case 'public':
        return true;
      case 'admin':
        return this.authenticateAdmin(req);
    }
  }

  private authenticateAdmin(req: Request): boolean {
    const token = bearerToken(req.header('authorization'));
    const expected = this.config.adminToken;
    if (token === undefined || expected === undefined || !tokenMatches(token, expected)) {
      throw new CommonError('Unauthenticated', 'A valid bearer token is required');
    }
    setPrincipal(req, { kind: 'admin', name: 'admin-token' });
    return true;
  }
}
