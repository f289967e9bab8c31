/**
 * The key of a batch read over many tenants' rows: each id comes with the tenant it
 * must belong to, so a batch can never return another tenant's row for a known id.
 */
export interface TenantRowId {
  readonly tenantId: string;
  readonly id: string;
}

/**
 * The two parallel arrays of `(tenant_id, id) IN (SELECT * FROM unnest($1::uuid[],
 * $2::uuid[]))`, duplicate keys dropped.
 */
export function tenantRowIdArrays(keys: readonly TenantRowId[]): {
  tenantIds: string[];
  ids: string[];
} {
  const unique = new Map(keys.map((k) => [`${k.tenantId}/${k.id}`, k]));
  const tenantIds: string[] = [];
  const ids: string[] = [];
  for (const key of unique.values()) {
    tenantIds.push(key.tenantId);
    ids.push(key.id);
  }
  return { tenantIds, ids };
}
