import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from 'src/common/database/data-source-options';

/** The machine's PostgreSQL; CI starts it. Override with TEST_DATABASE_ADMIN_URL. */
export const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdminClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function createEmptyDatabase(name: string, template?: string): Promise<string> {
  await withAdminClient((c) =>
    c.query(`CREATE DATABASE "${name}"${template === undefined ? '' : ` TEMPLATE "${template}"`}`),
  );
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Name of the migrated template the medium global setup prepares for this run. */
export const TEMPLATE_ENV = 'GITFLEET_TEST_TEMPLATE_DB';

/**
 * A fresh, fully migrated database for one spec file, cloned from the template
 * (cheap: a file copy inside PostgreSQL). Call `drop` in afterAll.
 */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  dataSource: DataSource;
  drop: () => Promise<void>;
}> {
  const template = process.env[TEMPLATE_ENV];
  if (template === undefined) {
    throw new Error(`${TEMPLATE_ENV} is not set: run medium tests through vitest's medium project`);
  }
  const name = uniqueDatabaseName('gitfleet_t');
  const url = await createEmptyDatabase(name, template);
  const dataSource = new DataSource(dataSourceOptions(url, 5));
  await dataSource.initialize();
  return {
    url,
    name,
    dataSource,
    drop: async () => {
      await dataSource.destroy();
      await dropDatabase(name);
    },
  };
}
