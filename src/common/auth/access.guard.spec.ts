import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import { AppError } from 'src/common/errors/app-error';
import { Access, AccessRule } from './access.decorator';
import { AccessGuard } from './access.guard';
import { principalOf } from './principal';

const TOKEN = 'a'.repeat(16) + '-admin-token-for-tests';

class Routes {
  @Access({ kind: 'admin' })
  admin(): void {}
  @Access({ kind: 'public' })
  open(): void {}
  undeclared(): void {}
}

function contextFor(handler: keyof Routes, authorization?: string) {
  const req = {
    headers: {},
    path: '/x',
    header: (n: string) => (n === 'authorization' ? authorization : undefined),
  };
  const ctx = {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
  return { ctx, req };
}

function statusOf(fn: () => unknown): number | 'allowed' {
  try {
    fn();
    return 'allowed';
  } catch (error) {
    return (error as AppError).status;
  }
}

describe('AccessGuard', () => {
  const sut = new AccessGuard(new Reflector(), loadConfig({ GITFLEET_ADMIN_TOKEN: TOKEN }));

  it('lets anyone reach public routes', () => {
    expect(statusOf(() => sut.canActivate(contextFor('open').ctx))).toBe('allowed');
  });

  it('authenticates the admin token on admin routes', () => {
    const { ctx, req } = contextFor('admin', `Bearer ${TOKEN}`);
    expect(statusOf(() => sut.canActivate(ctx))).toBe('allowed');
    expect(principalOf(req as never)).toEqual({ kind: 'admin', name: 'admin-token' });
  });

  it.each([undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`])(
    'answers 401 to %s',
    (authorization) => {
      expect(statusOf(() => sut.canActivate(contextFor('admin', authorization).ctx))).toBe(401);
    },
  );

  it('answers 401 on admin routes when no token is configured', () => {
    const noToken = new AccessGuard(new Reflector(), loadConfig({}));
    expect(statusOf(() => noToken.canActivate(contextFor('admin', 'Bearer anything').ctx))).toBe(
      401,
    );
  });

  it('fails closed on a route without an access rule', () => {
    expect(statusOf(() => sut.canActivate(contextFor('undeclared').ctx))).toBe(403);
  });

  it('only knows declared rule kinds', () => {
    const rules: AccessRule['kind'][] = ['public', 'admin'];
    expect(rules).toHaveLength(2);
  });
});
