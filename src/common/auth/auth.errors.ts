import { defineErrors } from 'src/common/errors/app-error';

/**
 * Authentication and authorization outcomes. `TenantNotFound` deliberately
 * carries the same code and message as the tenants context's own 404, so a
 * tenant the caller holds no role in is indistinguishable from a missing one.
 */
export const AuthError = defineErrors('AuthError', {
  Unauthenticated: 401,
  Forbidden: 403,
  TenantNotFound: 404,
  TooManyAuthFailures: 429,
});

export const tenantNotFound = (name: string): InstanceType<typeof AuthError> =>
  new AuthError('TenantNotFound', `Tenant "${name}" not found`);
