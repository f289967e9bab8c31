import { randomBytes } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from 'test/support/database/test-database';
import { TestOidcProvider } from 'test/support/oidc/test-oidc-provider';
import { startTestApp, TestApp } from 'test/support/registry/test-app';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('OIDC bearer authentication against a real OpenID provider', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let idp: TestOidcProvider;
  let t: TestApp;
  const issued: string[] = [];

  const get = (path: string, token: string | null) => t.request('GET', path, undefined, token);
  const tokenFor = async (name: string): Promise<string> => {
    const token = await idp.accessToken(name);
    issued.push(token);
    return token;
  };
  const claims = (over: Record<string, unknown> = {}) => ({
    sub: 'alice',
    groups: ['team-a-viewers'],
    ...over,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    idp = await TestOidcProvider.start([
      { name: 'alice', groups: ['team-a-viewers'] },
      { name: 'erin', groups: ['team-a-editors', 'unrelated'] },
      { name: 'olga', groups: ['team-a-owners'] },
      { name: 'pat', groups: ['platform-admins'] },
      { name: 'nora' }, // no groups claim at all
    ]);
    t = await startTestApp(db.url, {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_AUDIENCE: idp.audience,
      OIDC_ALLOW_INSECURE_ISSUER: 'true',
      OIDC_JWKS_MIN_REFRESH_SECONDS: '1',
      OIDC_CLOCK_SKEW_SECONDS: '5',
      GITFLEET_ADMIN_GROUPS: 'platform-admins',
      AUTH_FAILURES_PER_MINUTE: '100000',
    });
    const created = await t.request('POST', '/api/v1/tenants', {
      name: 'team-a',
      roleBindings: [
        { subjectKind: 'group', subject: 'team-a-viewers', role: 'viewer' },
        { subjectKind: 'group', subject: 'team-a-editors', role: 'editor' },
        { subjectKind: 'group', subject: 'team-a-owners', role: 'owner' },
        { subjectKind: 'user', subject: 'nora', role: 'viewer' },
      ],
    });
    expect(created.status).toBe(201);
    expect((await t.request('POST', '/api/v1/tenants', { name: 'team-b' })).status).toBe(201);
  });

  afterAll(async () => {
    await t?.close();
    await idp?.close();
    await db?.drop();
  });

  it('accepts real access tokens and maps groups to each role', async () => {
    const viewer = await tokenFor('alice');
    const editor = await tokenFor('erin');
    const owner = await tokenFor('olga');
    const admin = await tokenFor('pat');

    const me = await get('/api/v1/me', viewer);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      kind: 'user',
      name: 'alice',
      groups: ['team-a-viewers'],
      platformAdmin: false,
      tenants: [{ tenant: 'team-a', role: 'viewer' }],
    });

    for (const token of [viewer, editor, owner, admin]) {
      expect((await get('/api/v1/tenants/team-a', token)).status).toBe(200);
      expect((await get('/api/v1/tenants/team-a/role-bindings', token)).status).toBe(200);
    }
    const newSource = { name: 'x', kind: 'git', url: 'https://example.com/x.git' };
    expect(
      (await t.request('POST', '/api/v1/tenants/team-a/sources', newSource, viewer)).status,
    ).toBe(403);
    // Editors pass authorization; {} fails validation only after it.
    expect((await t.request('POST', '/api/v1/tenants/team-a/sources', {}, editor)).status).toBe(
      400,
    );
    expect((await get('/api/v1/tenants/team-a/api-tokens', editor)).status).toBe(403);
    expect((await get('/api/v1/tenants/team-a/api-tokens', owner)).status).toBe(200);
    // Another tenant: 404, the same body as a tenant that does not exist.
    const other = await get('/api/v1/tenants/team-b/role-bindings', owner);
    const missing = await get('/api/v1/tenants/no-such/role-bindings', owner);
    expect(other.status).toBe(404);
    const strip = (b: Record<string, unknown>) => ({
      ...b,
      requestId: undefined,
      message: undefined,
    });
    expect(strip(other.body)).toEqual(strip(missing.body));
    expect(other.body.message).toBe('Tenant "team-b" not found');
    // Admin routes: 403 for authenticated non-admins, 200 for the admin group.
    expect((await get('/api/v1/clusters', owner)).status).toBe(403);
    expect((await get('/api/v1/clusters', admin)).status).toBe(200);
    expect((await get('/api/v1/tenants/team-b/role-bindings', admin)).status).toBe(200);
  });

  it('refuses alg none, HS256 signed with the public key, and algorithms not pinned', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: idp.issuer, aud: idp.audience, iat: now, exp: now + 300, ...claims() };
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    const hs256 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: idp.currentKey.kid })
      .sign(new TextEncoder().encode(idp.currentKey.publicPem));
    const hs256Jwk = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: idp.currentKey.kid })
      .sign(new TextEncoder().encode(JSON.stringify(idp.currentKey.publicJwk)));
    for (const token of [none, hs256, hs256Jwk]) {
      expect((await get('/api/v1/me', token)).status).toBe(401);
    }
    expect(t.logs.some((l) => l.includes('algorithm not allowed'))).toBe(true);
  });

  it('refuses a wrong issuer, a wrong audience, expired and not-yet-valid tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      wrongIssuer: await idp.sign(claims({ iss: 'https://evil.example' })),
      wrongAudience: await idp.sign(claims({ aud: 'https://other-api.example' })),
      expired: await idp.sign(claims({ iat: now - 600, exp: now - 60 })),
      notYetValid: await idp.sign(claims(), { notBefore: now + 120 }),
      noExpiry: await idp.sign(claims({ exp: undefined })),
    };
    for (const [what, token] of Object.entries(cases)) {
      expect({ what, status: (await get('/api/v1/me', token)).status }).toEqual({
        what,
        status: 401,
      });
    }
    // Within the configured clock skew (5 s) a token is still accepted.
    const slightlyExpired = await idp.sign(claims({ iat: now - 300, exp: now - 2 }));
    expect((await get('/api/v1/me', slightlyExpired)).status).toBe(200);
    const slightlyEarly = await idp.sign(claims(), { notBefore: now + 2 });
    expect((await get('/api/v1/me', slightlyEarly)).status).toBe(200);
  });

  it('accepts a token signed with a rotated-in key after one JWKS refetch', async () => {
    expect((await get('/api/v1/me', await tokenFor('alice'))).status).toBe(200);
    await idp.rotate();
    await new Promise((r) => setTimeout(r, 1_100)); // OIDC_JWKS_MIN_REFRESH_SECONDS=1
    const before = idp.jwksRequests;
    const rotated = await tokenFor('alice');
    expect((await get('/api/v1/me', rotated)).status).toBe(200);
    expect(idp.jwksRequests).toBe(before + 1);
    expect((await get('/api/v1/me', rotated)).status).toBe(200);
    expect(idp.jwksRequests).toBe(before + 1);
  });

  it('refuses forged key ids without hammering the JWKS endpoint', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    const { privateKey } = await generateKeyPair('RS256');
    const before = idp.jwksRequests;
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const forged = await idp.sign(claims({ groups: ['platform-admins'] }), {
        kid: `forged-${randomBytes(4).toString('hex')}`,
        key: privateKey,
      });
      statuses.push((await get('/api/v1/me', forged)).status);
    }
    expect(new Set(statuses)).toEqual(new Set([401]));
    // 25 unknown key ids within the minimum refresh interval: at most one download.
    expect(idp.jwksRequests - before).toBeLessThanOrEqual(1);
    // A forged signature under a known key id is refused too.
    const wrongKey = await idp.sign(claims(), { key: privateKey });
    expect((await get('/api/v1/me', wrongKey)).status).toBe(401);
  });

  it('gives a token without a groups claim no group-derived access', async () => {
    // nora has no groups claim, but a user binding: that one counts, nothing else.
    const nora = await tokenFor('nora');
    const me = await get('/api/v1/me', nora);
    expect(me.body).toMatchObject({ groups: [], tenants: [{ tenant: 'team-a', role: 'viewer' }] });
    // A self-signed token naming alice without groups: alice's group bindings do not apply.
    const groupless = await idp.sign({ sub: 'alice' });
    expect((await get('/api/v1/me', groupless)).body.tenants).toEqual([]);
    expect((await get('/api/v1/tenants/team-a', groupless)).status).toBe(404);
    // A malformed groups claim is no groups either.
    const malformed = await idp.sign({ sub: 'alice', groups: 'team-a-viewers' });
    expect((await get('/api/v1/tenants/team-a', malformed)).status).toBe(404);
  });

  it('removes access on the next request when a group binding is revoked', async () => {
    const erin = await tokenFor('erin');
    expect((await get('/api/v1/tenants/team-a/role-bindings', erin)).status).toBe(200);
    const owner = await tokenFor('olga');
    const replaced = await t.request(
      'PUT',
      '/api/v1/tenants/team-a/role-bindings',
      {
        roleBindings: [
          { subjectKind: 'group', subject: 'team-a-viewers', role: 'viewer' },
          { subjectKind: 'group', subject: 'team-a-owners', role: 'owner' },
          { subjectKind: 'user', subject: 'nora', role: 'viewer' },
        ],
      },
      owner,
    );
    expect(replaced.status).toBe(200);
    // The audit log names the real principal; the entry is written before the response.
    const audit = await t.request('GET', '/api/v1/audit?action=tenant.role-bindings&limit=50');
    expect(audit.body.items).toEqual([
      expect.objectContaining({ actor: 'user:olga', outcome: 'success' }),
    ]);
    expect((await get('/api/v1/tenants/team-a/role-bindings', erin)).status).toBe(404);
    expect((await get('/api/v1/me', erin)).body.tenants).toEqual([]);
  });

  it('never writes a token into logs or error bodies', () => {
    expect(issued.length).toBeGreaterThan(3);
    for (const token of issued) {
      const signature = token.split('.')[2];
      expect(t.logs.filter((l) => l.includes(signature))).toEqual([]);
      expect(t.responses.filter((r) => r.includes(signature))).toEqual([]);
    }
  });
});
