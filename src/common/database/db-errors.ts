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
