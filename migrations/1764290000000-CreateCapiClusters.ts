import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCapiClusters1764290000000 implements MigrationInterface {
  name = 'CreateCapiClusters1764290000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "capi_cluster" (
        "id" uuid NOT NULL,
        "namespace" text NOT NULL,
        "name" text NOT NULL,
        "uid" text NOT NULL,
        "api_version" text NOT NULL,
        "cluster_id" uuid,
        "phase" text,
        "conditions" jsonb NOT NULL DEFAULT '[]',
        "control_plane_initialized" boolean NOT NULL DEFAULT false,
        "paused" boolean NOT NULL DEFAULT false,
        "deleting" boolean NOT NULL DEFAULT false,
        "registration" jsonb,
        "secret_resource_version" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_capi_cluster" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_capi_cluster_ref" UNIQUE ("namespace", "name"),
        CONSTRAINT "FK_capi_cluster_cluster" FOREIGN KEY ("cluster_id")
          REFERENCES "cluster" ("id") ON DELETE SET NULL ON UPDATE NO ACTION
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "IDX_capi_cluster_cluster" ON "capi_cluster" ("cluster_id")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "capi_cluster"`);
  }
}
