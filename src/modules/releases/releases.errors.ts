import { defineErrors } from 'src/common/errors/app-error';

export const ReleaseError = defineErrors('ReleaseError', {
  ReleaseNotFound: 404,
  TargetNotFound: 404,
  TenantNotFound: 404,
  SourceNotFound: 404,
  ReleaseAlreadyExists: 409,
  InvalidRelease: 400,
  QuotaExceeded: 409,
  ReleaseSuspended: 409,
  TargetSuspended: 409,
});
export type ReleaseErrorCode = InstanceType<typeof ReleaseError>['code'];
