import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Substitution becomes opt-in, as Flux's `spec.postBuild` (ADR 0013). A release
 * that had variables keeps substituting: they move into `post_build.substitute`;
 * every other release gets NULL and renders literally. `variables` goes.
 * down() moves `substitute` back; substituteFrom references cannot be expressed
 * there and are lost.
 */
export class AddReleasePostBuild1764400000000 implements MigrationInterface {
  name = 'AddReleasePostBuild1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "release" ADD COLUMN "post_build" jsonb`);
    await q.query(
      `UPDATE "release" SET "post_build" = jsonb_build_object('substitute', "variables")
        WHERE "variables" <> '{}'::jsonb`,
    );
    await q.query(`ALTER TABLE "release" DROP COLUMN "variables"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "release" ADD COLUMN "variables" jsonb NOT NULL DEFAULT '{}'`);
    await q.query(
      `UPDATE "release" SET "variables" = "post_build" -> 'substitute'
        WHERE jsonb_typeof("post_build" -> 'substitute') = 'object'`,
    );
    await q.query(`ALTER TABLE "release" DROP COLUMN "post_build"`);
  }
}
