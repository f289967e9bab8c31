import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateEvents1764270001000 implements MigrationInterface {
  name = 'CreateEvents1764270001000';

  async up(q: QueryRunner): Promise<void> {
    // No foreign key to tenant: events outlive deleted objects until retention drops them.
    await q.query(`
      CREATE TABLE "event" (
        "id" uuid NOT NULL,
        "tenant_id" uuid,
        "object_kind" text NOT NULL,
        "object_name" text NOT NULL,
        "severity" text NOT NULL,
        "reason" text NOT NULL,
        "message" text NOT NULL,
        "revision" text,
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_event" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "IDX_event_tenant_time" ON "event" ("tenant_id", "occurred_at")`);
    await q.query(`CREATE INDEX "IDX_event_time" ON "event" ("occurred_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "event"`);
  }
}
