import type { DataSource, QueryRunner } from 'typeorm';
import type { SqlInMemory } from 'typeorm/driver/SqlInMemory';

/**
 * The SQL TypeORM would run to make the schema match the entities (empty: no drift),
 * as `migration:generate --check` computes it.
 *
 * TypeORM's PostgresQueryRunner.getTables loads the columns of all tables with
 * Promise.all on its one connection (array and enum columns each ask for their type),
 * so pg saw a second `client.query()` while one was running. Its queries are
 * serialized here: one query at a time per client, as pg requires.
 */
export async function schemaDrift(ds: DataSource): Promise<SqlInMemory> {
  const createQueryRunner = ds.createQueryRunner;
  ds.createQueryRunner = (mode) => serializeQueries(createQueryRunner.call(ds, mode));
  try {
    return await ds.driver.createSchemaBuilder().log();
  } finally {
    ds.createQueryRunner = createQueryRunner;
  }
}

function serializeQueries(runner: QueryRunner): QueryRunner {
  const query = runner.query.bind(runner);
  let tail: Promise<unknown> = Promise.resolve();
  runner.query = (...args: Parameters<QueryRunner['query']>) => {
    const run = tail.then(() => query(...args));
    tail = run.catch(() => undefined);
    return run;
  };
  return runner;
}
