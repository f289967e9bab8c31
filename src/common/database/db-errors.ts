import { QueryFailedError } from 'typeorm';

interface PgError {
  code?: string;
  constraint?: string;
}

function pgError(error: unknown): PgError | undefined {
  if (error instanceof QueryFailedError) {
    return error.driverError as PgError;
  }
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return error as PgError;
  }
  return undefined;
}

/** A unique constraint (optionally: this one) was violated. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  return pg?.code === '23505' && (constraint === undefined || pg.constraint === constraint);
}

/** A foreign key was violated (a referenced row is missing, or a referencing row still exists). */
export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  const pg = pgError(error);
  return pg?.code === '23503' && (constraint === undefined || pg.constraint === constraint);
}
