import { describe, expect, it } from 'vitest';
import { helmRequest } from 'src/modules/sources/helm/helm-request';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

describe('helmRequest', () => {
  const url = 'https://charts.example.com/';

  it('sends basic credentials as they are and a token as the password', () => {
    expect(helmRequest(url, 30, undefined)).toEqual({ url, timeoutSeconds: 30 });
    expect(helmRequest(url, 30, { kind: 'basic', username: 'u', password: 'p' })).toEqual({
      url,
      timeoutSeconds: 30,
      credentials: { username: 'u', password: 'p' },
    });
    expect(helmRequest(url, 30, { kind: 'token', token: 't' }).credentials).toEqual({
      username: '',
      password: 't',
    });
  });

  it('refuses ssh credentials', () => {
    expect(() => helmRequest(url, 30, { kind: 'ssh', knownHosts: 'h' })).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidCredentials }),
    );
  });
});
