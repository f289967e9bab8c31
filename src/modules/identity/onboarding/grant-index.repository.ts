import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Read-only: which grants exist (the periodic onboarding pass walks them; grants are owned by the tenants context). */
@Injectable()
export class GrantIndexRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async allKeys(): Promise<{ tenantId: string; clusterId: string }[]> {
    const rows = await this.dataSource.query<{ tenant_id: string; cluster_id: string }[]>(
      'SELECT tenant_id, cluster_id FROM "grant" ORDER BY cluster_id, tenant_id',
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, clusterId: r.cluster_id }));
  }
}
