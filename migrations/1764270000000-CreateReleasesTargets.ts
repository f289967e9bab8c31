import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateReleasesTargets1764270000000 implements MigrationInterface {
  name = 'CreateReleasesTargets1764270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "release" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "name" text NOT NULL,
        "source_id" uuid NOT NULL,
        "path" text NOT NULL DEFAULT '',
        "kind" text,
        "helm" jsonb,
        "cluster_selector" jsonb,
        "cluster_names" text array,
        "target_namespace" text NOT NULL,
        "interval_seconds" integer NOT NULL,
        "retry_interval_seconds" integer NOT NULL,
        "timeout_seconds" integer NOT NULL,
        "prune" boolean NOT NULL DEFAULT true,
        "wait" boolean NOT NULL DEFAULT true,
        "allow_empty" boolean NOT NULL DEFAULT false,
        "force" boolean NOT NULL DEFAULT false,
        "suspended" boolean NOT NULL DEFAULT false,
        "depends_on" text array NOT NULL DEFAULT '{}',
        "health_checks" jsonb NOT NULL DEFAULT '[]',
        "variables" jsonb NOT NULL DEFAULT '{}',
        "generation" integer NOT NULL DEFAULT 1,
        "deletion_requested_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_release" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_release_tenant_name" UNIQUE ("tenant_id", "name"),
        CONSTRAINT "FK_release_tenant" FOREIGN KEY ("tenant_id")
          REFERENCES "tenant" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "FK_release_source" FOREIGN KEY ("source_id")
          REFERENCES "source" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "IDX_release_source" ON "release" ("source_id")`);
    await q.query(`
      CREATE TABLE "target" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "release_id" uuid NOT NULL,
        "cluster_id" uuid NOT NULL,
        "release_name" text NOT NULL,
        "cluster_name" text NOT NULL,
        "removing" boolean NOT NULL DEFAULT false,
        "applied_revision" text,
        "last_attempted_revision" text,
        "observed_generation" integer NOT NULL DEFAULT 0,
        "applied_digest" text,
        "conditions" jsonb NOT NULL DEFAULT '[]',
        "ready_status" text NOT NULL DEFAULT 'Unknown',
        "last_result" text,
        "counts" jsonb,
        "last_duration_ms" integer,
        "last_error" text,
        "inventory" jsonb NOT NULL DEFAULT '[]',
        "suspended" boolean NOT NULL DEFAULT false,
        "last_reconciled_at" TIMESTAMP WITH TIME ZONE,
        "next_run_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "failure_count" integer NOT NULL DEFAULT 0,
        "lease_owner" text,
        "lease_expires_at" TIMESTAMP WITH TIME ZONE,
        "fencing_token" bigint NOT NULL DEFAULT 0,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_target" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_target_release_cluster" UNIQUE ("release_id", "cluster_id"),
        CONSTRAINT "FK_target_release" FOREIGN KEY ("release_id")
          REFERENCES "release" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "FK_target_cluster" FOREIGN KEY ("cluster_id")
          REFERENCES "cluster" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "IDX_target_cluster" ON "target" ("cluster_id")`);
    await q.query(
      `CREATE INDEX "IDX_target_tenant_names" ON "target" ("tenant_id", "release_name", "cluster_name")`,
    );
    await q.query(`CREATE INDEX "IDX_target_due" ON "target" ("next_run_at")`);
    await q.query(`
      CREATE TABLE "target_run" (
        "id" uuid NOT NULL,
        "target_id" uuid NOT NULL,
        "started_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "duration_ms" integer NOT NULL,
        "revision" text,
        "result" text NOT NULL,
        "reason" text NOT NULL,
        "message" text NOT NULL DEFAULT '',
        "counts" jsonb,
        "drift" jsonb NOT NULL DEFAULT '[]',
        CONSTRAINT "PK_target_run" PRIMARY KEY ("id"),
        CONSTRAINT "FK_target_run_target" FOREIGN KEY ("target_id")
          REFERENCES "target" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(
      `CREATE INDEX "IDX_target_run_target_started" ON "target_run" ("target_id", "started_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "target_run"`);
    await q.query(`DROP TABLE "target"`);
    await q.query(`DROP TABLE "release"`);
  }
}
