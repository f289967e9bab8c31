import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from 'migrations/index';
import { ENTITIES } from './entities';

/** The one definition of how gitfleet talks to PostgreSQL; tests and tools reuse it. */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 5_000,
      // Server-side guard against statements hung on locks.
      statement_timeout: 30_000,
      application_name: 'gitfleet',
    },
  };
}
