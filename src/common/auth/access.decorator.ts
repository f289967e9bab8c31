import { SetMetadata } from '@nestjs/common';

/**
 * Every route declares who may call it. The global AccessGuard refuses routes
 * without a rule, so a forgotten rule fails closed.
 */
export type AccessRule = { kind: 'public' } | { kind: 'admin' };

export const ACCESS_RULE = 'gitfleet:access-rule';

export const Access = (rule: AccessRule): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, rule);
