import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSources1764260000000 implements MigrationInterface {
  name = 'CreateSources1764260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "source" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "name" text NOT NULL,
        "kind" text NOT NULL,
        "url" text NOT NULL,
        "reference" jsonb,
        "interval_seconds" integer NOT NULL,
        "timeout_seconds" integer NOT NULL,
        "ignore" jsonb NOT NULL DEFAULT '[]',
        "ca_certificate" text,
        "suspended" boolean NOT NULL DEFAULT false,
        "credentials_kind" text,
        "credentials_ciphertext" text,
        "credentials_key_id" text,
        "generation" integer NOT NULL DEFAULT 1,
        "conditions" jsonb NOT NULL DEFAULT '[]',
        "revision" text,
        "artifact_digest" text,
        "artifact_size_bytes" bigint,
        "observed_generation" integer NOT NULL DEFAULT 0,
        "last_fetch_at" TIMESTAMP WITH TIME ZONE,
        "next_fetch_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "failure_count" integer NOT NULL DEFAULT 0,
        "refresh_requested_at" TIMESTAMP WITH TIME ZONE,
        "lease_owner" text,
        "lease_acquired_at" TIMESTAMP WITH TIME ZONE,
        "lease_expires_at" TIMESTAMP WITH TIME ZONE,
        "fencing_token" bigint NOT NULL DEFAULT 0,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_source" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_source_tenant_name" UNIQUE ("tenant_id", "name"),
        CONSTRAINT "CK_source_kind" CHECK ("kind" IN ('git', 'helm')),
        CONSTRAINT "CK_source_credentials_kind" CHECK ("credentials_kind" IN ('basic', 'token', 'ssh')),
        CONSTRAINT "CK_source_credentials_complete" CHECK (("credentials_kind" IS NULL) = ("credentials_ciphertext" IS NULL) AND ("credentials_ciphertext" IS NULL) = ("credentials_key_id" IS NULL)),
        CONSTRAINT "FK_source_tenant" FOREIGN KEY ("tenant_id")
          REFERENCES "tenant" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "IDX_source_next_fetch_at" ON "source" ("next_fetch_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "source"`);
  }
}
