import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTenantsClustersGrants1764250000000 implements MigrationInterface {
  name = 'CreateTenantsClustersGrants1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "tenant" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "display_name" text NOT NULL DEFAULT '',
        "description" text NOT NULL DEFAULT '',
        "allow_cluster_registration" boolean NOT NULL DEFAULT false,
        "max_clusters" integer,
        "max_releases" integer,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_tenant" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_tenant_name" UNIQUE ("name")
      )`);
    await q.query(`
      CREATE TABLE "tenant_role_binding" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "subject_kind" text NOT NULL,
        "subject" text NOT NULL,
        "role" text NOT NULL,
        CONSTRAINT "PK_tenant_role_binding" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_tenant_role_binding_subject" UNIQUE ("tenant_id", "subject_kind", "subject"),
        CONSTRAINT "CK_tenant_role_binding_role" CHECK ("role" IN ('owner', 'editor', 'viewer')),
        CONSTRAINT "CK_tenant_role_binding_subject_kind" CHECK ("subject_kind" IN ('group', 'user')),
        CONSTRAINT "FK_tenant_role_binding_tenant" FOREIGN KEY ("tenant_id")
          REFERENCES "tenant" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(
      `CREATE INDEX "IDX_tenant_role_binding_subject" ON "tenant_role_binding" ("subject_kind", "subject")`,
    );
    await q.query(`
      CREATE TABLE "cluster" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "labels" jsonb NOT NULL DEFAULT '{}',
        "owner_tenant_id" uuid,
        "api_server_url" text NOT NULL,
        "kubernetes_version" text,
        "source" text NOT NULL DEFAULT 'manual',
        "insecure_skip_tls_verify" boolean NOT NULL DEFAULT false,
        "conditions" jsonb NOT NULL DEFAULT '[]',
        "last_probe_time" TIMESTAMP WITH TIME ZONE,
        "kubeconfig_ciphertext" text NOT NULL,
        "kubeconfig_key_id" text NOT NULL,
        "kubeconfig_version" integer NOT NULL DEFAULT 1,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_cluster" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_cluster_name" UNIQUE ("name"),
        CONSTRAINT "CK_cluster_source" CHECK ("source" IN ('manual', 'capi')),
        CONSTRAINT "FK_cluster_owner_tenant" FOREIGN KEY ("owner_tenant_id")
          REFERENCES "tenant" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "IDX_cluster_owner_tenant" ON "cluster" ("owner_tenant_id")`);
    await q.query(`CREATE INDEX "IDX_cluster_labels" ON "cluster" USING gin ("labels")`);
    await q.query(`
      CREATE TABLE "grant" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "cluster_id" uuid NOT NULL,
        "namespaces" text array NOT NULL,
        "service_account_name" text NOT NULL,
        "allow_cluster_scoped" boolean NOT NULL DEFAULT false,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_grant" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_grant_tenant_cluster" UNIQUE ("tenant_id", "cluster_id"),
        CONSTRAINT "CK_grant_namespaces_not_empty" CHECK (cardinality("namespaces") >= 1),
        CONSTRAINT "FK_grant_tenant" FOREIGN KEY ("tenant_id")
          REFERENCES "tenant" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "FK_grant_cluster" FOREIGN KEY ("cluster_id")
          REFERENCES "cluster" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "IDX_grant_cluster" ON "grant" ("cluster_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "grant"`);
    await q.query(`DROP TABLE "cluster"`);
    await q.query(`DROP TABLE "tenant_role_binding"`);
    await q.query(`DROP TABLE "tenant"`);
  }
}
