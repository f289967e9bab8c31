import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import { AppError } from 'src/common/errors/app-error';
import { Access, AccessRule } from './access.decorator';
import { AccessGuard } from './access.guard';
import type { BearerAuthenticator, TenantRoleResolver } from './auth.ports';
import { type Principal, principalOf, type PrincipalRole, tenantAccessOf } from './principal';

const TOKEN = 'a'.repeat(16) + '-admin-token-for-tests';

class Routes {
  @Access({ kind: 'admin' })
  admin(): void {}
  @Access({ kind: 'public' })
  open(): void {}
  @Access({ kind: 'authenticated' })
  me(): void {}
  @Access({ kind: 'tenant', role: 'viewer' })
  read(): void {}
  @Access({ kind: 'tenant', role: 'editor' })
  write(): void {}
  @Access({ kind: 'tenant', role: 'viewer', param: 'name' })
  tenantByName(): void {}
  undeclared(): void {}
}

const users: Record<string, Principal> = {
  'jwt-alice': { kind: 'user', name: 'alice', groups: ['team-a'], platformAdmin: false },
  'jwt-root': { kind: 'user', name: 'root', groups: ['platform'], platformAdmin: true },
};
const bindings: Record<string, Record<string, PrincipalRole>> = {
  alice: { 'team-a': 'viewer' },
};

const authenticator: BearerAuthenticator = {
  authenticate: (token) => Promise.resolve(users[token]),
};
const resolver: TenantRoleResolver = {
  roleIn: (p, tenant) => Promise.resolve(bindings[p.name]?.[tenant]),
};

function contextFor(
  handler: keyof Routes,
  authorization?: string,
  params: Record<string, string> = { tenant: 'team-a' },
  ip = '10.0.0.1',
) {
  const req = {
    headers: {},
    path: '/x',
    params,
    ip,
    socket: {},
    header: (n: string) => (n === 'authorization' ? authorization : undefined),
  };
  const ctx = {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
  return { ctx, req };
}

async function statusOf(fn: () => Promise<unknown>): Promise<number | 'allowed'> {
  try {
    await fn();
    return 'allowed';
  } catch (error) {
    return (error as AppError).status;
  }
}

describe('AccessGuard', () => {
  const config = loadConfig({ GITFLEET_ADMIN_TOKEN: TOKEN, AUTH_FAILURES_PER_MINUTE: '1000' });
  const sut = new AccessGuard(new Reflector(), config, authenticator, resolver);
  const call = (...args: Parameters<typeof contextFor>) =>
    statusOf(() => sut.canActivate(contextFor(...args).ctx));

  it('lets anyone reach public routes', async () => {
    expect(await call('open')).toBe('allowed');
  });

  it('authenticates the admin token on admin routes', async () => {
    const { ctx, req } = contextFor('admin', `Bearer ${TOKEN}`);
    expect(await statusOf(() => sut.canActivate(ctx))).toBe('allowed');
    expect(principalOf(req as never)).toEqual({ kind: 'admin', name: 'admin-token' });
  });

  it.each([undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`])(
    'answers 401 to %s',
    async (authorization) => {
      expect(await call('admin', authorization)).toBe(401);
      expect(await call('read', authorization)).toBe(401);
      expect(await call('me', authorization)).toBe(401);
    },
  );

  it('answers 401 on admin routes when no token is configured', async () => {
    const noToken = new AccessGuard(new Reflector(), loadConfig({}));
    expect(
      await statusOf(() => noToken.canActivate(contextFor('admin', 'Bearer anything').ctx)),
    ).toBe(401);
  });

  it('answers 403 to authenticated non-admins on admin routes, and lets admin groups in', async () => {
    expect(await call('admin', 'Bearer jwt-alice')).toBe(403);
    expect(await call('admin', 'Bearer jwt-root')).toBe('allowed');
  });

  it('grants tenant routes by role: viewer reads, cannot write', async () => {
    const { ctx, req } = contextFor('read', 'Bearer jwt-alice');
    expect(await statusOf(() => sut.canActivate(ctx))).toBe('allowed');
    expect(tenantAccessOf(req as never)).toEqual({ tenant: 'team-a', role: 'viewer' });
    expect(await call('write', 'Bearer jwt-alice')).toBe(403);
  });

  it('answers 404 for a tenant the caller holds no role in, like a missing one', async () => {
    expect(await call('read', 'Bearer jwt-alice', { tenant: 'team-b' })).toBe(404);
    expect(await call('read', 'Bearer jwt-alice', { tenant: 'no-such-tenant' })).toBe(404);
    expect(await call('tenantByName', 'Bearer jwt-alice', { name: 'team-b' })).toBe(404);
    expect(await call('tenantByName', 'Bearer jwt-alice', { name: 'team-a' })).toBe('allowed');
  });

  it('lets platform admins into every tenant as owner', async () => {
    const { ctx, req } = contextFor('write', 'Bearer jwt-root', { tenant: 'team-z' });
    expect(await statusOf(() => sut.canActivate(ctx))).toBe('allowed');
    expect(tenantAccessOf(req as never)).toEqual({ tenant: 'team-z', role: 'owner' });
  });

  it('fails closed on a route without an access rule, and on a tenant rule without its parameter', async () => {
    expect(await call('undeclared', `Bearer ${TOKEN}`)).toBe(403);
    expect(await call('read', 'Bearer jwt-alice', {})).toBe(403);
  });

  it('rate limits failed authentications per client address', async () => {
    const limited = new AccessGuard(
      new Reflector(),
      loadConfig({ GITFLEET_ADMIN_TOKEN: TOKEN, AUTH_FAILURES_PER_MINUTE: '3' }),
      authenticator,
      resolver,
    );
    const attempt = (auth: string, ip: string) =>
      statusOf(() => limited.canActivate(contextFor('me', auth, {}, ip).ctx));
    for (let i = 0; i < 3; i++) {
      expect(await attempt('Bearer bad', '10.9.9.9')).toBe(401);
    }
    expect(await attempt('Bearer bad', '10.9.9.9')).toBe(429);
    // Blocked even with a valid token until the window passes; other clients are unaffected.
    expect(await attempt('Bearer jwt-alice', '10.9.9.9')).toBe(429);
    expect(await attempt('Bearer jwt-alice', '10.9.9.8')).toBe('allowed');
  });

  it('only knows declared rule kinds', () => {
    const rules: AccessRule['kind'][] = ['public', 'authenticated', 'admin', 'tenant'];
    expect(rules).toHaveLength(4);
  });
});
