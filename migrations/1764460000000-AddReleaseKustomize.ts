import { MigrationInterface, QueryRunner } from 'typeorm';

/** Flux-style Kustomize overlay of a release (patches, images, name affixes, commonMetadata, components). */
export class AddReleaseKustomize1764460000000 implements MigrationInterface {
  name = 'AddReleaseKustomize1764460000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "release" ADD COLUMN "kustomize" jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "release" DROP COLUMN "kustomize"`);
  }
}
