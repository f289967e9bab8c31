import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconcile requests that arrive while a target runs survive its completion
 * (reconcile_requested_at), and a manual request reads live state afresh
 * (fresh_read_requested) instead of the shared per-cluster snapshot.
 */
export class AddTargetReconcileRequests1764310000000 implements MigrationInterface {
  name = 'AddTargetReconcileRequests1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "target"
         ADD COLUMN "reconcile_requested_at" TIMESTAMP WITH TIME ZONE,
         ADD COLUMN "fresh_read_requested" boolean NOT NULL DEFAULT false`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "target" DROP COLUMN "fresh_read_requested", DROP COLUMN "reconcile_requested_at"`,
    );
  }
}
