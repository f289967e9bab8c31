import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { dataSourceOptions } from 'src/common/database/data-source-options';
import { runMigrationsLocked } from 'src/common/database/migrate';
import { MIGRATIONS } from 'migrations/index';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';
import { schemaDrift } from 'test/support/database/schema-drift';

const userTables = async (ds: DataSource): Promise<string[]> =>
  (
    await ds.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    )
  ).map((r) => r.table_name);

describe('migrations on an empty PostgreSQL database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) {
      await cleanup();
    }
  });

  async function emptyDatabase(): Promise<string> {
    const name = uniqueDatabaseName('gitfleet_mig');
    const url = await createEmptyDatabase(name);
    cleanups.push(() => dropDatabase(name));
    return url;
  }

  async function connect(url: string): Promise<DataSource> {
    const ds = new DataSource(dataSourceOptions(url, 3));
    await ds.initialize();
    cleanups.unshift(() => ds.destroy());
    return ds;
  }

  it('applies every migration and reverts them all cleanly', async () => {
    const ds = await connect(await emptyDatabase());
    expect(await runMigrationsLocked(ds)).toBe(MIGRATIONS.length);
    expect(await ds.showMigrations()).toBe(false);
    expect((await userTables(ds)).length).toBeGreaterThan(1);

    for (let i = 0; i < MIGRATIONS.length; i++) {
      await ds.undoLastMigration({ transaction: 'each' });
    }
    expect(await userTables(ds)).toEqual(['migrations']);
    // And forward again: down() really undid what up() did.
    expect(await runMigrationsLocked(ds)).toBe(MIGRATIONS.length);
  });

  it('leaves no difference between the entities and the migrated schema', async () => {
    const ds = await connect(await emptyDatabase());
    await runMigrationsLocked(ds);
    const pending = await schemaDrift(ds);
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('serializes two processes migrating the same empty database at once', async () => {
    const url = await emptyDatabase();
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    const applied = await Promise.all([runMigrationsLocked(a), runMigrationsLocked(b)]);
    expect(applied.sort()).toEqual([0, MIGRATIONS.length]);
    expect(await a.showMigrations()).toBe(false);
    const rows = await a.query<{ n: number }[]>('SELECT count(*)::int AS n FROM migrations');
    expect(rows[0]?.n).toBe(MIGRATIONS.length);
  });
});
