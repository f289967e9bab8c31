import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `allow_cluster_scoped` let a tenant apply every cluster-scoped kind (a ClusterRole with every verb
 * on every resource); grants now list the kinds (`cluster_scoped_kinds`, `group/Kind`).
 * A grant that allowed everything keeps exactly what it deploys today: the
 * cluster-scoped kinds in its tenant's target inventories on that cluster
 * (Namespaces aside: a granted namespace's manifest is always allowed). Kinds it
 * never applied need an explicit grant update. `down` turns a non-empty list
 * back into `true`.
 */
export class ReplaceGrantAllowClusterScoped1764430000000 implements MigrationInterface {
  name = 'ReplaceGrantAllowClusterScoped1764430000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "grant" ADD COLUMN "cluster_scoped_kinds" text array NOT NULL DEFAULT '{}'`,
    );
    await q.query(
      `UPDATE "grant" g SET cluster_scoped_kinds = COALESCE((
         SELECT array_agg(DISTINCT CASE WHEN e->>'group' = '' THEN e->>'kind'
                                        ELSE (e->>'group') || '/' || (e->>'kind') END)
           FROM target t, jsonb_array_elements(t.inventory) e
          WHERE t.tenant_id = g.tenant_id AND t.cluster_id = g.cluster_id
            AND COALESCE(e->>'namespace', '') = ''
            AND NOT (e->>'group' = '' AND e->>'kind' = 'Namespace')), '{}')
       WHERE g.allow_cluster_scoped`,
    );
    await q.query(`ALTER TABLE "grant" DROP COLUMN "allow_cluster_scoped"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "grant" ADD COLUMN "allow_cluster_scoped" boolean NOT NULL DEFAULT false`,
    );
    await q.query(
      `UPDATE "grant" SET allow_cluster_scoped = cardinality(cluster_scoped_kinds) > 0`,
    );
    await q.query(`ALTER TABLE "grant" DROP COLUMN "cluster_scoped_kinds"`);
  }
}
