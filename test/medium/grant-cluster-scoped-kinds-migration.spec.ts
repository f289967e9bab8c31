import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions } from 'src/common/database/data-source-options';
import { MIGRATIONS } from 'migrations/index';
import { ReplaceGrantAllowClusterScoped1764430000000 } from 'migrations/1764430000000-ReplaceGrantAllowClusterScoped';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(ReplaceGrantAllowClusterScoped1764430000000));

describe('grants that allowed every cluster-scoped kind keep the kinds they deploy', () => {
  const name = uniqueDatabaseName('gitfleet_mig_kinds');
  let ds: DataSource;
  const ids = { tenant: randomUUID(), wide: randomUUID(), narrow: randomUUID() };

  beforeAll(async () => {
    const url = await createEmptyDatabase(name);
    ds = new DataSource({ ...dataSourceOptions(url, 2), migrations: BEFORE });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    const q = (sql: string, params: unknown[]) => ds.query(sql, params);
    await q(`INSERT INTO tenant (id, name) VALUES ($1, 'team-a')`, [ids.tenant]);
    for (const [id, cluster] of [
      [ids.wide, 'c-wide'],
      [ids.narrow, 'c-narrow'],
    ]) {
      await q(
        `INSERT INTO cluster (id, name, api_server_url, kubeconfig_ciphertext, kubeconfig_key_id)
         VALUES ($1, $2, 'https://k.example', 'x', 'k1')`,
        [id, cluster],
      );
    }
    await q(
      `INSERT INTO "grant" (id, tenant_id, cluster_id, namespaces, service_account_name, allow_cluster_scoped)
       VALUES ($1, $2, $3, '{apps}', 'sa', true), ($4, $2, $5, '{apps}', 'sa', false)`,
      [randomUUID(), ids.tenant, ids.wide, randomUUID(), ids.narrow],
    );
    const source = randomUUID();
    await q(
      `INSERT INTO source (id, tenant_id, name, kind, url, interval_seconds, timeout_seconds)
       VALUES ($1, $2, 'config', 'git', 'https://git.example/a.git', 60, 60)`,
      [source, ids.tenant],
    );
    const release = randomUUID();
    await q(
      `INSERT INTO release (id, tenant_id, name, source_id, target_namespace, interval_seconds,
         retry_interval_seconds, timeout_seconds) VALUES ($1, $2, 'web', $3, 'apps', 60, 60, 60)`,
      [release, ids.tenant, source],
    );
    const inventory = [
      { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', name: 'r' },
      { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', name: 'w' },
      { group: '', version: 'v1', kind: 'PersistentVolume', name: 'pv' },
      { group: '', version: 'v1', kind: 'Namespace', name: 'apps' },
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'cm' },
    ];
    for (const cluster of [ids.wide, ids.narrow]) {
      await q(
        `INSERT INTO target (id, tenant_id, release_id, cluster_id, release_name, cluster_name, inventory)
         VALUES ($1, $2, $3, $4, 'web', 'c', $5::jsonb)`,
        [randomUUID(), ids.tenant, release, cluster, JSON.stringify(inventory)],
      );
    }
  });

  afterAll(async () => {
    await ds?.destroy();
    await dropDatabase(name);
  });

  const kindsOn = async (cluster: string): Promise<string[]> =>
    (
      await ds.query<{ k: string[] }[]>(
        `SELECT cluster_scoped_kinds AS k FROM "grant" WHERE cluster_id = $1`,
        [cluster],
      )
    )[0].k;

  it('lists the cluster-scoped kinds in inventory (no Namespace, nothing namespaced), and reverts', async () => {
    const runner = ds.createQueryRunner();
    try {
      const migration = new ReplaceGrantAllowClusterScoped1764430000000();
      await migration.up(runner);
      expect((await kindsOn(ids.wide)).sort()).toEqual([
        'PersistentVolume',
        'apiextensions.k8s.io/CustomResourceDefinition',
        'rbac.authorization.k8s.io/ClusterRole',
      ]);
      // A grant without cluster-scoped rights gains none from what it happens to hold.
      expect(await kindsOn(ids.narrow)).toEqual([]);

      await migration.down(runner);
      const rows = await ds.query<{ cluster_id: string; allow_cluster_scoped: boolean }[]>(
        `SELECT cluster_id, allow_cluster_scoped FROM "grant"`,
      );
      expect(Object.fromEntries(rows.map((r) => [r.cluster_id, r.allow_cluster_scoped]))).toEqual({
        [ids.wide]: true,
        [ids.narrow]: false,
      });
    } finally {
      await runner.release();
    }
  });
});
