import type { HelmRepositoryRequest } from 'src/modules/sources/helm/helm-repository.client';
import type { SourceCredentials, SourceSpec } from 'src/modules/sources/source.types';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';

/**
 * The request for a helm source's repository: its URL, timeout and CA bundle (trusted
 * with the system roots for the index and every chart download). Helm repositories
 * take HTTP basic auth; a token goes as the password, with the given username or an
 * empty one.
 */
export function helmRequest(
  source: Pick<SourceSpec, 'url' | 'timeoutSeconds' | 'caCertificate'>,
  credentials: SourceCredentials | undefined,
): HelmRepositoryRequest {
  const request: HelmRepositoryRequest = {
    url: source.url,
    timeoutSeconds: source.timeoutSeconds,
  };
  if (source.caCertificate !== null) {
    request.caCertificate = source.caCertificate;
  }
  switch (credentials?.kind) {
    case 'basic':
      request.credentials = { username: credentials.username, password: credentials.password };
      break;
    case 'token':
      request.credentials = { username: credentials.username ?? '', password: credentials.token };
      break;
    case 'ssh':
      throw new SourceFetchError(
        SourceErrorCode.InvalidCredentials,
        'helm repositories take basic or token credentials, not ssh',
      );
    case undefined:
      break;
  }
  return request;
}
