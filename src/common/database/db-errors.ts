import { QueryFailedError } from 'typeorm';

interface PgError {
  code?: string;
  constraint?: string;
}

function pgError(error: unknown): PgError | undefined {
  if (error instanceof QueryFailedError) {
    return error.driverError as PgError;
  }
  if (typeof error !== 'object' || error === null) {
    return undefined;
  }
  // A driver error wrapped by something other than TypeORM's QueryFailedError.
  const driver = (error as { driverError?: unknown }).driverError;
  if (typeof driver === 'object' && driver !== null && 'code' in driver) {
    return driver as PgError;
  }
  return 'code' in error ? (error as PgError) : undefined;
}

/** The PostgreSQL SQLSTATE of an error (`23505`, …), if it is one. */
export function postgresErrorCode(error: unknown): string | undefined {
  const code = pgError(error)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A unique constraint (optionally: this one) was violated. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  return (
    postgresErrorCode(error) === '23505' &&
    (constraint === undefined || pg?.constraint === constraint)
  );
}

/** A foreign key was violated (a referenced row is missing, or a referencing row still exists). */
export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  return (
    postgresErrorCode(error) === '23503' &&
    (constraint === undefined || pg?.constraint === constraint)
  );
}

const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const LOST_CONNECTION =
  /Connection terminated|Connection ended|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

/**
 * The database did not answer (connection refused or lost, server shutting down or
 * starting, out of connections) rather than refusing the statement: worth retrying.
 * SQLSTATE classes 08 (connection), 57P (operator intervention), 53 (resources),
 * socket errors, and the pg driver's messages for a lost connection. Anything
 * else (a constraint, an error of our own code) is not.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  // Socket errors first: `EPIPE` has the shape of a SQLSTATE.
  const raw = pgError(error)?.code;
  if (typeof raw === 'string' && NETWORK_ERRORS.has(raw)) {
    return true;
  }
  const code = postgresErrorCode(error);
  if (code !== undefined) {
    // 08P01 is a protocol violation: our bug, not the connection's.
    return /^(08|57P|53)/.test(code) && code !== '08P01';
  }
  const message = error instanceof Error ? error.message : '';
  return LOST_CONNECTION.test(message);
}
