import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EmbeddedDatabaseStartError,
  startEmbeddedDatabase,
} from 'src/common/database/embedded-database';

/** A loopback port held by a plain TCP listener, as another instance would hold it. */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return { server, port: address.port };
}

describe('an embedded PostgreSQL that cannot start names the cause and the setting', () => {
  let dataDir: string;
  let held: { server: Server; port: number };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gitfleet-embedded-'));
    held = await holdPort();
  });
  afterEach(async () => {
    held.server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a port taken by another instance: EMBEDDED_DATABASE_PORT', async () => {
    const error = await startEmbeddedDatabase(dataDir, held.port).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EmbeddedDatabaseStartError);
    expect((error as Error).message).toBe(
      `embedded PostgreSQL cannot start: port ${held.port} on 127.0.0.1 is already in use (another PostgreSQL or gitfleet instance?). Stop it, or set EMBEDDED_DATABASE_PORT to a free port.`,
    );
  }, 60_000);

  it('a data directory of another major version: GITFLEET_DATA_DIR', async () => {
    const databaseDir = join(dataDir, 'postgres');
    await mkdir(databaseDir, { recursive: true, mode: 0o700 });
    // What PostgreSQL reads before it compares versions: its configuration, then PG_VERSION.
    await writeFile(join(databaseDir, 'postgresql.conf'), '');
    await writeFile(join(databaseDir, 'PG_VERSION'), '15\n');
    held.server.close();

    const error = await startEmbeddedDatabase(dataDir, held.port).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EmbeddedDatabaseStartError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^embedded PostgreSQL cannot start: the data directory ${databaseDir} belongs to another major version of PostgreSQL \\(created by PostgreSQL 15, this is 17[.0-9]*\\)\\. Point GITFLEET_DATA_DIR at another directory`,
      ),
    );
  }, 60_000);
});
