import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** Rows for medium tests, inserted straight into the registry tables. */
export async function insertTenant(
  ds: DataSource,
  name = `t-${randomUUID().slice(0, 8)}`,
): Promise<string> {
  const id = randomUUID();
  await ds.query(`INSERT INTO tenant (id, name) VALUES ($1, $2)`, [id, name]);
  return id;
}

export async function insertCluster(
  ds: DataSource,
  overrides: { name?: string; labels?: Record<string, string>; ownerTenantId?: string } = {},
): Promise<string> {
  const id = randomUUID();
  await ds.query(
    `INSERT INTO cluster (id, name, labels, owner_tenant_id, api_server_url, kubeconfig_ciphertext, kubeconfig_key_id)
     VALUES ($1, $2, $3, $4, 'https://127.0.0.1:6443', 'not-a-real-ciphertext', 'k1')`,
    [
      id,
      overrides.name ?? `c-${randomUUID().slice(0, 8)}`,
      JSON.stringify(overrides.labels ?? {}),
      overrides.ownerTenantId ?? null,
    ],
  );
  return id;
}

export async function insertGrant(
  ds: DataSource,
  tenantId: string,
  clusterId: string,
  namespaces: string[] = ['apps'],
): Promise<string> {
  const id = randomUUID();
  await ds.query(
    `INSERT INTO "grant" (id, tenant_id, cluster_id, namespaces, service_account_name) VALUES ($1, $2, $3, $4, 'gitfleet-tenant')`,
    [id, tenantId, clusterId, namespaces],
  );
  return id;
}

export async function insertSource(
  ds: DataSource,
  tenantId: string,
  name = `s-${randomUUID().slice(0, 8)}`,
): Promise<string> {
  const id = randomUUID();
  await ds.query(
    `INSERT INTO source (id, tenant_id, name, kind, url, interval_seconds, timeout_seconds)
     VALUES ($1, $2, $3, 'git', 'https://git.example/repo.git', 300, 60)`,
    [id, tenantId, name],
  );
  return id;
}
