import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTenantApiTokens1764280000000 implements MigrationInterface {
  name = 'CreateTenantApiTokens1764280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "tenant_api_token" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "name" text NOT NULL,
        "role" text NOT NULL,
        "token_hash" text NOT NULL,
        "token_prefix" text NOT NULL,
        "created_by" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_used_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_tenant_api_token" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_tenant_api_token_name" UNIQUE ("tenant_id", "name"),
        CONSTRAINT "UQ_tenant_api_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "CK_tenant_api_token_role" CHECK ("role" IN ('owner', 'editor', 'viewer')),
        CONSTRAINT "FK_tenant_api_token_tenant" FOREIGN KEY ("tenant_id")
          REFERENCES "tenant" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(
      `CREATE INDEX "IDX_tenant_api_token_expires_at" ON "tenant_api_token" ("expires_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "tenant_api_token"`);
  }
}
