import { Inject, Injectable, PipeTransform } from '@nestjs/common';

/** The tenant a request is scoped to: resolved from the path, never from a body. */
export interface TenantScope {
  readonly id: string;
  readonly name: string;
}

/**
 * Resolves a tenant name to its scope, failing with the tenants context's own not-found error.
 * Declared here and implemented by the tenants module, so that common knows no context.
 */
export interface TenantScopeResolver {
  scopeOf(name: string): Promise<TenantScope>;
}

export const TENANT_SCOPE_RESOLVER = Symbol('TENANT_SCOPE_RESOLVER');

/**
 * The one pipe for the `:tenant` path parameter of every tenant-scoped route:
 * `@Param('tenant', TenantScopePipe) tenant: TenantScope`. An unknown (or malformed) tenant is 404.
 */
@Injectable()
export class TenantScopePipe implements PipeTransform<string, Promise<TenantScope>> {
  constructor(@Inject(TENANT_SCOPE_RESOLVER) private readonly tenants: TenantScopeResolver) {}

  transform(name: string): Promise<TenantScope> {
    return this.tenants.scopeOf(name);
  }
}
