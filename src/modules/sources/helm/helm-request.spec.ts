import { describe, expect, it } from 'vitest';
import { helmRequest } from 'src/modules/sources/helm/helm-request';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

describe('helmRequest', () => {
  const url = 'https://charts.example.com/';
  const source = { url, timeoutSeconds: 30, caCertificate: null };

  it('sends basic credentials as they are and a token as the password', () => {
    expect(helmRequest(source, undefined)).toEqual({ url, timeoutSeconds: 30 });
    expect(helmRequest(source, { kind: 'basic', username: 'u', password: 'p' })).toEqual({
      url,
      timeoutSeconds: 30,
      credentials: { username: 'u', password: 'p' },
    });
    expect(helmRequest(source, { kind: 'token', token: 't' }).credentials).toEqual({
      username: '',
      password: 't',
    });
  });

  it("carries the source's CA bundle", () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(helmRequest({ ...source, caCertificate: ca }, undefined).caCertificate).toBe(ca);
  });

  it('refuses ssh credentials', () => {
    expect(() => helmRequest(source, { kind: 'ssh', knownHosts: 'h' })).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidCredentials }),
    );
  });
});
