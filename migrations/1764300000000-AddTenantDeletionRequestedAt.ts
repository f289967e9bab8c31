import { MigrationInterface, QueryRunner } from 'typeorm';

export class AddTenantDeletionRequestedAt1764300000000 implements MigrationInterface {
  name = 'AddTenantDeletionRequestedAt1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "tenant" ADD COLUMN "deletion_requested_at" TIMESTAMP WITH TIME ZONE`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "tenant" DROP COLUMN "deletion_requested_at"`);
  }
}
