import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuditEntries1764250001000 implements MigrationInterface {
  name = 'CreateAuditEntries1764250001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "audit_entry" (
        "id" uuid NOT NULL,
        "time" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "actor" text NOT NULL,
        "action" text NOT NULL,
        "object_kind" text NOT NULL,
        "object_name" text,
        "tenant_id" uuid,
        "request_id" text,
        "outcome" text NOT NULL,
        "status_code" integer NOT NULL,
        "error_code" text,
        "changes" jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT "PK_audit_entry" PRIMARY KEY ("id"),
        CONSTRAINT "CK_audit_entry_outcome" CHECK ("outcome" IN ('success', 'failure'))
      )`);
    await q.query(`CREATE INDEX "IDX_audit_entry_time" ON "audit_entry" ("time", "id")`);
    await q.query(
      `CREATE INDEX "IDX_audit_entry_tenant_time" ON "audit_entry" ("tenant_id", "time")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_entry"`);
  }
}
