import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pruning that is safe with shared objects: a release opts in to pruning its
 * CustomResourceDefinitions (prune_custom_resource_definitions) and says when it
 * may take over objects that exist already (adopt); a target remembers the
 * objects it renders but another release owns (conflicts), so that release's
 * prune hands them over instead of deleting them.
 */
export class AddPruneSafetyAndAdoption1764450000000 implements MigrationInterface {
  name = 'AddPruneSafetyAndAdoption1764450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "release"
         ADD COLUMN "prune_custom_resource_definitions" boolean NOT NULL DEFAULT false,
         ADD COLUMN "adopt" text NOT NULL DEFAULT 'IfUnowned',
         ADD CONSTRAINT "CK_release_adopt" CHECK ("adopt" IN ('IfUnowned', 'Always', 'Never'))`,
    );
    await q.query(`ALTER TABLE "target" ADD COLUMN "conflicts" jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "target" DROP COLUMN "conflicts"`);
    await q.query(
      `ALTER TABLE "release"
         DROP CONSTRAINT "CK_release_adopt",
         DROP COLUMN "adopt",
         DROP COLUMN "prune_custom_resource_definitions"`,
    );
  }
}
