/** A field-level validation problem, reported in the error body's `details`. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Base of every error a context raises on purpose. Each context defines its own
 * codes and maps every code to an HTTP status, so the mapping is exhaustive by type.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;

  constructor(
    message: string,
    readonly details?: readonly FieldProblem[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type StatusMap<C extends string> = Readonly<Record<C, number>>;

/** Helper to declare a context's error class from its code → status table. */
export function defineErrors<C extends string>(
  name: string,
  statuses: StatusMap<C>,
): new (code: C, message: string, details?: readonly FieldProblem[]) => AppError & { code: C } {
  class ContextError extends AppError {
    readonly status: number;
    constructor(
      readonly code: C,
      message: string,
      details?: readonly FieldProblem[],
    ) {
      super(message, details);
      this.status = statuses[code];
      this.name = name;
    }
  }
  Object.defineProperty(ContextError, 'name', { value: name });
  return ContextError;
}

export const CommonError = defineErrors('CommonError', {
  ValidationFailed: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  DatabaseUnavailable: 503,
});
