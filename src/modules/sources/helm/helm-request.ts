import type { HelmRepositoryRequest } from 'src/modules/sources/helm/helm-repository.client';
import type { SourceCredentials } from 'src/modules/sources/source.types';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';

/**
 * The request for a helm source's repository. Helm repositories take HTTP basic auth;
 * a token goes as the password, with the given username or an empty one.
 */
export function helmRequest(
  url: string,
  timeoutSeconds: number,
  credentials: SourceCredentials | undefined,
): HelmRepositoryRequest {
  const request: HelmRepositoryRequest = { url, timeoutSeconds };
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
