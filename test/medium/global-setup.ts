import { DataSource } from 'typeorm';
import { dataSourceOptions } from 'src/common/database/data-source-options';
import {
  createEmptyDatabase,
  dropDatabase,
  TEMPLATE_ENV,
  uniqueDatabaseName,
} from 'test/support/database/test-database';

/** Migrates one template database per test run; each spec file clones it. */
export default async function setup(): Promise<() => Promise<void>> {
  const name = uniqueDatabaseName('gitfleet_tpl');
  const url = await createEmptyDatabase(name);
  const dataSource = new DataSource(dataSourceOptions(url, 1));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  process.env[TEMPLATE_ENV] = name;
  return async () => {
    await dropDatabase(name);
  };
}
