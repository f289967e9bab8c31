import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PrincipalRole } from 'src/common/auth/principal';

/**
 * Reads the tenants' role bindings for authorization: which role a user (by
 * name and groups) holds in a tenant. Read-only; the bindings themselves are
 * owned by the tenants context. One indexed query per request, no cache, so a
 * removed binding is effective on the next request.
 */
@Injectable()
export class TenantMembershipRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The roles bound to this user or any of these groups, per tenant name (highest first per tenant). */
  async rolesOf(
    username: string,
    groups: readonly string[],
    tenantName?: string,
  ): Promise<{ tenant: string; role: PrincipalRole }[]> {
    return this.dataSource.query<{ tenant: string; role: PrincipalRole }[]>(
      `SELECT t.name AS tenant, b.role
       FROM tenant_role_binding b JOIN tenant t ON t.id = b.tenant_id
       WHERE ((b.subject_kind = 'user' AND b.subject = $1)
           OR (b.subject_kind = 'group' AND b.subject = ANY($2::text[])))
         AND ($3::text IS NULL OR t.name = $3)
       ORDER BY t.name`,
      [username, [...groups], tenantName ?? null],
    );
  }
}
