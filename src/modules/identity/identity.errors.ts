import { defineErrors } from 'src/common/errors/app-error';

export const IdentityError = defineErrors('IdentityError', {
  ApiTokenNotFound: 404,
  ApiTokenNameTaken: 409,
  /** A token may not carry a higher role than its creator holds. */
  RoleTooHigh: 403,
  /** API tokens cannot mint further tokens (a leaked token cannot extend itself). */
  TokensCannotMintTokens: 403,
  /** The tenant is not allowed to register its own clusters. */
  ClusterRegistrationNotAllowed: 403,
});
export type IdentityErrorCode = InstanceType<typeof IdentityError>['code'];
