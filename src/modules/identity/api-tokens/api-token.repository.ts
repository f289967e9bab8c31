import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { returningRows } from 'src/common/database/returning-rows';

export type TokenRole = 'owner' | 'editor' | 'viewer';

export interface ApiToken {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly role: TokenRole;
  readonly tokenPrefix: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly lastUsedAt: Date | null;
}

interface Row {
  id: string;
  tenant_id: string;
  name: string;
  role: TokenRole;
  token_prefix: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = `id, tenant_id, name, role, token_prefix, created_by, created_at, expires_at, last_used_at`;

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  role: r.role,
  tokenPrefix: r.token_prefix,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

/** Tenant API token rows. Every tenant-facing method takes the tenant id; lookups by hash are the login path. */
@Injectable()
export class ApiTokenRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(t: {
    id: string;
    tenantId: string;
    name: string;
    role: TokenRole;
    tokenHash: string;
    tokenPrefix: string;
    createdBy: string;
    expiresAt: Date;
  }): Promise<ApiToken> {
    const rows = await this.dataSource.query<Row[]>(
      `INSERT INTO tenant_api_token (id, tenant_id, name, role, token_hash, token_prefix, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [t.id, t.tenantId, t.name, t.role, t.tokenHash, t.tokenPrefix, t.createdBy, t.expiresAt],
    );
    return toToken(rows[0]);
  }

  /** The unexpired token with this hash, with its tenant's name. */
  async findValidByHash(
    tokenHash: string,
  ): Promise<(ApiToken & { tenantName: string }) | undefined> {
    const rows = await this.dataSource.query<(Row & { tenant_name: string })[]>(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `k.${c}`)
        .join(', ')}, t.name AS tenant_name
       FROM tenant_api_token k JOIN tenant t ON t.id = k.tenant_id
       WHERE k.token_hash = $1 AND k.expires_at > now()`,
      [tokenHash],
    );
    const row = rows[0];
    return row === undefined ? undefined : { ...toToken(row), tenantName: row.tenant_name };
  }

  async listForTenant(tenantId: string): Promise<ApiToken[]> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT ${COLUMNS} FROM tenant_api_token WHERE tenant_id = $1 ORDER BY name`,
      [tenantId],
    );
    return rows.map(toToken);
  }

  async delete(tenantId: string, name: string): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await this.dataSource.query(
        'DELETE FROM tenant_api_token WHERE tenant_id = $1 AND name = $2 RETURNING id',
        [tenantId, name],
      ),
    );
    return rows.length === 1;
  }

  /** Records use at most once a minute per token, so authentication is not a write per request. */
  async touch(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE tenant_api_token SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}
