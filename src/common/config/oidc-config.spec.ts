import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from './config';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigValidationError).problems.map((p) => p.split(':')[0]);
  }
};

describe('OIDC and tenancy configuration', () => {
  const base = { OIDC_ISSUER_URL: 'https://idp.example.com/realms/x', OIDC_AUDIENCE: 'gitfleet' };

  it('is off by default, with safe defaults', () => {
    const c = loadConfig({});
    expect(c.oidcIssuerUrl).toBeUndefined();
    expect(c.oidcAllowedAlgorithms).toEqual(['RS256', 'ES256']);
    expect(c.oidcUsernameClaim).toBe('sub');
    expect(c.oidcGroupsClaim).toBe('groups');
    expect(c.oidcClockSkewSeconds).toBe(30);
    expect(c.adminGroups).toEqual([]);
    expect(c.tenantClusterAllowPrivateAddresses).toBe(false);
    expect(c.tenantClusterRole).toBe('admin');
  });

  it('accepts an https issuer with an audience, admin groups and pinned algorithms', () => {
    const c = loadConfig({
      ...base,
      GITFLEET_ADMIN_GROUPS: 'platform, sre ,',
      OIDC_ALLOWED_ALGORITHMS: 'PS256,EdDSA',
    });
    expect(c.adminGroups).toEqual(['platform', 'sre']);
    expect(c.oidcAllowedAlgorithms).toEqual(['PS256', 'EdDSA']);
  });

  it.each([
    ['http://idp.example.com', {}],
    ['https://169.254.169.254/', {}],
    ['https://metadata.google.internal/', {}],
    ['https://[fe80::1]/', {}],
    ['https://[::ffff:169.254.169.254]/', {}],
    ['https://user:pw@idp.example.com', {}],
    ['file:///etc/passwd', { OIDC_ALLOW_INSECURE_ISSUER: 'true' }],
    ['http://169.254.169.254/', { OIDC_ALLOW_INSECURE_ISSUER: 'true' }],
  ])('refuses the issuer %s', (issuer, extra) => {
    expect(problemsOf({ ...base, OIDC_ISSUER_URL: issuer, ...extra })).toContain('OIDC_ISSUER_URL');
  });

  it('accepts http only with the explicit development flag', () => {
    expect(
      loadConfig({
        ...base,
        OIDC_ISSUER_URL: 'http://127.0.0.1:5556',
        OIDC_ALLOW_INSECURE_ISSUER: 'true',
      }).oidcIssuerUrl,
    ).toBe('http://127.0.0.1:5556');
  });

  it.each(['none', 'HS256', 'RS256,HS512', 'RS256,none', ''])(
    'refuses the algorithm list "%s"',
    (algorithms) => {
      if (algorithms === '') {
        // Empty means the default, never "anything".
        expect(loadConfig({ ...base, OIDC_ALLOWED_ALGORITHMS: '' }).oidcAllowedAlgorithms).toEqual([
          'RS256',
          'ES256',
        ]);
        return;
      }
      expect(problemsOf({ ...base, OIDC_ALLOWED_ALGORITHMS: algorithms })).toContain(
        'OIDC_ALLOWED_ALGORITHMS',
      );
    },
  );

  it('requires an audience with an issuer, and bounds the clock skew', () => {
    expect(problemsOf({ OIDC_ISSUER_URL: base.OIDC_ISSUER_URL })).toContain('OIDC_AUDIENCE');
    expect(problemsOf({ ...base, OIDC_CLOCK_SKEW_SECONDS: '3600' })).toContain(
      'OIDC_CLOCK_SKEW_SECONDS',
    );
  });
});
