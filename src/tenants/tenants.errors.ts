import { defineErrors } from 'src/common/errors/app-error';

export const TenantError = defineErrors('TenantError', {
  TenantNotFound: 404,
  TenantNameTaken: 409,
  /** The tenant still owns clusters, grants or other objects; retry with `?cascade=true`. */
  TenantNotEmpty: 409,
  /** A cascading delete of the tenant is in progress; it accepts no new objects. */
  TenantDeleting: 409,
  InvalidTenantQuery: 400,
  /** The same subject is bound twice. */
  InvalidRoleBindings: 400,
});
export type TenantErrorCode = InstanceType<typeof TenantError>['code'];
