import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

// Arbitrary constant shared by every replica: "gitfleet migrations".
const MIGRATION_LOCK_KEY = 726_574_001;

/**
 * Runs pending migrations while holding a session-level advisory lock, so N
 * replicas starting at once migrate one after another; the later ones find
 * nothing left to do.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<number> {
  const logger = new Logger('Migrations');
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length > 0) {
      logger.log({ msg: 'migrations applied', migrations: applied.map((m) => m.name) });
    }
    return applied.length;
  } finally {
    await lockRunner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await lockRunner.release();
  }
}
