import { Injectable, PipeTransform } from '@nestjs/common';
import { TenantError } from 'src/tenants/tenants.errors';
import { TenantsService } from 'src/tenants/tenants.service';
import { DNS_LABEL_PATTERN } from 'src/tenants/dto/tenant.dto';

/** The tenant a request is scoped to: resolved from the path, never from a body. */
export interface TenantScope {
  readonly id: string;
  readonly name: string;
}

/** Resolves the `:tenant` path parameter; an unknown (or malformed) tenant is 404. */
@Injectable()
export class TenantScopePipe implements PipeTransform<string, Promise<TenantScope>> {
  constructor(private readonly tenants: TenantsService) {}

  async transform(name: string): Promise<TenantScope> {
    if (typeof name !== 'string' || name.length > 63 || !DNS_LABEL_PATTERN.test(name)) {
      throw new TenantError('TenantNotFound', 'Tenant not found');
    }
    return { id: await this.tenants.idOf(name), name };
  }
}
