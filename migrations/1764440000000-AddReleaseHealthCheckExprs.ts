import { MigrationInterface, QueryRunner } from 'typeorm';

/** Flux-style `healthCheckExprs`: CEL health per apiVersion/kind, validated by the API. */
export class AddReleaseHealthCheckExprs1764440000000 implements MigrationInterface {
  name = 'AddReleaseHealthCheckExprs1764440000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "release" ADD COLUMN "health_check_exprs" jsonb NOT NULL DEFAULT '[]'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "release" DROP COLUMN "health_check_exprs"`);
  }
}
