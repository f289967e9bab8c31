import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLeases1764240000000 implements MigrationInterface {
  name = 'CreateLeases1764240000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "lease" (
        "name" text NOT NULL,
        "holder" text NOT NULL,
        "fencing_token" bigint NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_lease" PRIMARY KEY ("name")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "lease"`);
  }
}
