import { defineErrors } from 'src/common/errors/app-error';

export const ClusterError = defineErrors('ClusterError', {
  ClusterNotFound: 404,
  ClusterNameTaken: 409,
  /** An uploaded kubeconfig uses a field or value gitfleet refuses; details name the field. */
  KubeconfigRejected: 400,
  /** A body names a tenant that does not exist. */
  UnknownTenant: 400,
  InvalidLabels: 400,
  InvalidClusterQuery: 400,
  GrantNotFound: 404,
  GrantExists: 409,
  /** The owner tenant already has as many clusters as its quota allows. */
  ClusterQuotaExceeded: 409,
  /** The stored credentials cannot be used (vault failure, invalid stored data); never an empty credential. */
  CredentialsUnavailable: 500,
});
export type ClusterErrorCode = InstanceType<typeof ClusterError>['code'];
