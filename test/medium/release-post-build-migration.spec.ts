import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { dataSourceOptions } from 'src/common/database/data-source-options';
import { MIGRATIONS } from 'migrations/index';
import { AddReleasePostBuild1764400000000 } from 'migrations/1764400000000-AddReleasePostBuild';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';

describe('the postBuild migration on existing releases', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) {
      await cleanup();
    }
  });

  async function connect(url: string, migrations: readonly (new () => unknown)[]) {
    const ds = new DataSource({ ...dataSourceOptions(url, 2), migrations: [...migrations] });
    await ds.initialize();
    cleanups.unshift(() => ds.destroy());
    return ds;
  }

  it('moves non-empty variables into postBuild.substitute, leaves others literal, and back', async () => {
    const name = uniqueDatabaseName('gitfleet_mig_pb');
    const url = await createEmptyDatabase(name);
    cleanups.push(() => dropDatabase(name));
    const at = MIGRATIONS.indexOf(AddReleasePostBuild1764400000000);
    expect(at).toBeGreaterThan(0);

    const before = await connect(url, MIGRATIONS.slice(0, at));
    await before.runMigrations({ transaction: 'each' });
    const tenant = randomUUID();
    const source = randomUUID();
    await before.query(`INSERT INTO "tenant" ("id", "name") VALUES ($1, 'team-a')`, [tenant]);
    await before.query(
      `INSERT INTO "source" ("id", "tenant_id", "name", "kind", "url", "interval_seconds", "timeout_seconds")
       VALUES ($1, $2, 'config', 'git', 'https://git.example/a.git', 60, 60)`,
      [source, tenant],
    );
    const insert = (release: string, variables: Record<string, string>) =>
      before.query(
        `INSERT INTO "release" ("id", "tenant_id", "name", "source_id", "target_namespace",
           "interval_seconds", "retry_interval_seconds", "timeout_seconds", "variables")
         VALUES ($1, $2, $3, $4, 'apps', 60, 60, 60, $5)`,
        [randomUUID(), tenant, release, source, JSON.stringify(variables)],
      );
    await insert('with-vars', { image_tag: '1.2.3' });
    await insert('without', {});
    await before.destroy();
    cleanups.shift();

    const after = await connect(url, MIGRATIONS);
    await after.runMigrations({ transaction: 'each' });
    const rows = await after.query<{ name: string; post_build: unknown }[]>(
      `SELECT "name", "post_build" FROM "release" ORDER BY "name"`,
    );
    expect(rows).toEqual([
      { name: 'with-vars', post_build: { substitute: { image_tag: '1.2.3' } } },
      { name: 'without', post_build: null },
    ]);

    // down() brings the variables back where they came from.
    for (let i = MIGRATIONS.length - 1; i >= at; i--) {
      await after.undoLastMigration({ transaction: 'each' });
    }
    const restored = await after.query<{ name: string; variables: unknown }[]>(
      `SELECT "name", "variables" FROM "release" ORDER BY "name"`,
    );
    expect(restored).toEqual([
      { name: 'with-vars', variables: { image_tag: '1.2.3' } },
      { name: 'without', variables: {} },
    ]);
  });
});
