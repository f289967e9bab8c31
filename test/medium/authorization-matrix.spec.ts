import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRule } from 'src/common/auth/access.decorator';
import { ROLE_RANK } from 'src/common/auth/access.decorator';
import { expressRoutes, routeInventory, type RouteEntry } from 'test/support/auth/route-inventory';
import { createTestDatabase } from 'test/support/database/test-database';
import { TestOidcProvider } from 'test/support/oidc/test-oidc-provider';
import { startTestApp, TestApp, TestResponse } from 'test/support/registry/test-app';

/**
 * Routes reachable without authentication. Adding one is a deliberate,
 * reviewed change of this list. Swagger UI routes are not Nest controllers
 * and are matched by prefix.
 */
const PUBLIC_ROUTES = ['GET /healthz', 'GET /metrics', 'GET /readyz'];
const PUBLIC_PREFIXES = ['/api/docs'];

type Who =
  | 'anonymous'
  | 'invalid token'
  | 'viewer'
  | 'editor'
  | 'owner'
  | 'owner of another tenant'
  | 'platform admin'
  | 'tenant API token (editor)';
const EVERYONE: Who[] = [
  'anonymous',
  'invalid token',
  'viewer',
  'editor',
  'owner',
  'owner of another tenant',
  'platform admin',
  'tenant API token (editor)',
];
const TENANT_ROLE: Partial<Record<Who, 'viewer' | 'editor' | 'owner'>> = {
  viewer: 'viewer',
  editor: 'editor',
  owner: 'owner',
  'tenant API token (editor)': 'editor',
};

/** What the guard must answer. `pass`: authorization passed (the handler decides: 2xx, 400, 404 of an object…). */
type Expected = 401 | 403 | 'tenant-404' | 'pass';

export function expectedFor(rule: AccessRule, who: Who): Expected {
  if (rule.kind === 'public') {
    return 'pass';
  }
  if (who === 'anonymous' || who === 'invalid token') {
    return 401;
  }
  if (who === 'platform admin') {
    return 'pass';
  }
  switch (rule.kind) {
    case 'authenticated':
      return 'pass';
    case 'admin':
      return 403;
    case 'tenant': {
      const held = TENANT_ROLE[who];
      if (held === undefined) {
        return 'tenant-404';
      }
      return ROLE_RANK[held] >= ROLE_RANK[rule.role] ? 'pass' : 403;
    }
  }
}

describe('authorization matrix generated from the route inventory', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let idp: TestOidcProvider;
  let t: TestApp;
  let routes: RouteEntry[];
  const tokens = new Map<Who, string | null>();
  const secrets: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    idp = await TestOidcProvider.start([
      { name: 'vic', groups: ['a-viewers'] },
      { name: 'ed', groups: ['a-editors'] },
      { name: 'olive', groups: ['a-owners'] },
      { name: 'bert', groups: ['b-owners'] },
      { name: 'pam', groups: ['platform'] },
    ]);
    t = await startTestApp(db.url, {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_AUDIENCE: idp.audience,
      OIDC_ALLOW_INSECURE_ISSUER: 'true',
      GITFLEET_ADMIN_GROUPS: 'platform',
      AUTH_FAILURES_PER_MINUTE: '100000',
    });
    const bind = (subject: string, role: string) => ({ subjectKind: 'group', subject, role });
    for (const [name, roleBindings] of [
      [
        'team-a',
        [bind('a-viewers', 'viewer'), bind('a-editors', 'editor'), bind('a-owners', 'owner')],
      ],
      ['team-b', [bind('b-owners', 'owner')]],
    ] as const) {
      expect((await t.request('POST', '/api/v1/tenants', { name, roleBindings })).status).toBe(201);
    }
    tokens.set('anonymous', null);
    tokens.set('invalid token', 'not-a-valid-token');
    tokens.set('viewer', await idp.accessToken('vic'));
    tokens.set('editor', await idp.accessToken('ed'));
    tokens.set('owner', await idp.accessToken('olive'));
    tokens.set('owner of another tenant', await idp.accessToken('bert'));
    tokens.set('platform admin', await idp.accessToken('pam'));
    const created = await t.request(
      'POST',
      '/api/v1/tenants/team-a/api-tokens',
      { name: 'ci', role: 'editor', expiresInDays: 1 },
      tokens.get('owner'),
    );
    expect(created.status).toBe(201);
    tokens.set('tenant API token (editor)', created.body.token);
    secrets.push(created.body.token, ...[...tokens.values()].filter((x): x is string => !!x));
    routes = routeInventory(t.app);
  });

  afterAll(async () => {
    await t?.close();
    await idp?.close();
    await db?.drop();
  });

  it('finds the routes of every controller, and every Express route is in the inventory', () => {
    expect(routes.length).toBeGreaterThan(30);
    const known = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const unexplained = expressRoutes(t.app).filter(
      (r) =>
        !known.has(`${r.method} ${r.path}`) && !PUBLIC_PREFIXES.some((p) => r.path.startsWith(p)),
    );
    expect(unexplained).toEqual([]);
  });

  it('every route declares an access rule', () => {
    expect(
      routes.filter((r) => r.rule === undefined).map((r) => `${r.method} ${r.path} (${r.handler})`),
    ).toEqual([]);
  });

  it('only the explicit allowlist is reachable without authentication', () => {
    expect(
      routes.filter((r) => r.rule?.kind === 'public').map((r) => `${r.method} ${r.path}`),
    ).toEqual(PUBLIC_ROUTES);
  });

  it('every tenant-scoped path is guarded by a tenant rule naming its tenant parameter', () => {
    const wrong = routes.filter(
      (r) =>
        r.path.startsWith('/api/v1/tenants/:tenant') &&
        !(r.rule?.kind === 'tenant' && (r.rule.param ?? 'tenant') === 'tenant'),
    );
    expect(wrong.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('answers every endpoint × principal as its rule says', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const rule = route.rule!;
      const tenantParam = rule.kind === 'tenant' ? (rule.param ?? 'tenant') : undefined;
      const path = route.path.replace(/:(\w+)/g, (_m, p: string) =>
        p === tenantParam ? 'team-a' : 'matrix-missing',
      );
      const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined;
      for (const who of EVERYONE) {
        const expected = expectedFor(rule, who);
        const res = await t.request(route.method, path, body, tokens.get(who) ?? null);
        if (!matches(res, expected, rule)) {
          failures.push(
            `${route.method} ${path} as ${who}: expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('never returns or logs a token (except the one-time creation response)', () => {
    const creation = t.responses.filter((r) => r.includes('"token":"gft_'));
    expect(creation).toHaveLength(1);
    for (const secret of secrets) {
      const probe = secret.includes('.') ? secret.split('.')[2] : secret;
      expect(t.logs.filter((l) => l.includes(probe))).toEqual([]);
      expect(t.responses.filter((r) => r.includes(probe) && !creation.includes(r))).toEqual([]);
    }
  });
});

function matches(res: TestResponse, expected: Expected, rule: AccessRule): boolean {
  const code = (res.body as { code?: string } | undefined)?.code;
  switch (expected) {
    case 401:
    case 403:
      return res.status === expected;
    case 'tenant-404':
      return res.status === 404 && code === 'TenantNotFound';
    case 'pass':
      // On tenant rules the tenant exists: a TenantNotFound would be the guard hiding it.
      return (
        res.status !== 401 &&
        res.status !== 403 &&
        res.status !== 429 &&
        !(rule.kind === 'tenant' && code === 'TenantNotFound')
      );
  }
}
