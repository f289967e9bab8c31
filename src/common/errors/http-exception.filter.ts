import { postgresErrorCode } from 'src/common/database/db-errors';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { requestIdOf } from 'src/common/logging/request-id.middleware';
import { AppError, FieldProblem } from './app-error';

/** The one error body shape of the API. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  details?: readonly FieldProblem[];
  requestId?: string;
}

// Connection-level failures (server down, restarting, pool exhausted) mean
// "try again later", not "this request is wrong".
const UNAVAILABLE_PG_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08003',
  '08006',
]);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const code = (error as { code?: unknown }).code;
  const driverCode = (error as { driverError?: { code?: unknown } }).driverError?.code;
  const message = error instanceof Error ? error.message : '';
  return (
    (typeof code === 'string' &&
      (UNAVAILABLE_PG_CODES.has(code) || UNAVAILABLE_NODE_CODES.has(code))) ||
    (typeof driverCode === 'string' && UNAVAILABLE_PG_CODES.has(driverCode)) ||
    /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED/.test(
      message,
    )
  );
}

function bodyFor(status: number, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...extra };
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req);
    const { body, kind } = classify(exception, requestId);
    if (kind === 'unavailable') {
      this.logger.warn({ msg: 'database unavailable', requestId });
    } else if (kind === 'unknown') {
      // Unknown: full detail in the log, nothing internal in the body.
      this.logger.error(exception instanceof Error ? exception : String(exception));
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (body.statusCode === 503) {
      res.setHeader('Retry-After', '5');
    }
    res.status(body.statusCode).json(body);
  }
}

/**
 * The body, and so the status and code, a failed request answers with. Pure,
 * so that the audit log records exactly what the client was told.
 */
export function errorBodyOf(exception: unknown, requestId?: string): ErrorBody {
  return classify(exception, requestId).body;
}

interface Classified {
  readonly body: ErrorBody;
  /** What the filter logs: nothing for errors of the caller's making. */
  readonly kind: 'known' | 'unavailable' | 'unknown';
}

const known = (body: ErrorBody): Classified => ({ body, kind: 'known' });

function classify(exception: unknown, requestId?: string): Classified {
  if (exception instanceof AppError) {
    return known(
      bodyFor(exception.status, exception.message, {
        code: exception.code,
        details: exception.details,
        requestId,
      }),
    );
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = exception.message;
    let details: FieldProblem[] | undefined;
    if (typeof response === 'object' && response !== null) {
      const r = response as { message?: unknown; details?: unknown };
      if (typeof r.message === 'string') {
        message = r.message;
      } else if (Array.isArray(r.message)) {
        message = r.message.join('; ');
      }
      if (Array.isArray(r.details)) {
        details = r.details as FieldProblem[];
      }
    }
    return known(bodyFor(status, message, { details, requestId }));
  }
  if (isBodyParserError(exception)) {
    const status = exception.status;
    const message = status === 413 ? 'Request body is too large' : 'Request body is not valid JSON';
    return known(bodyFor(status, message, { requestId }));
  }
  const pgCode = postgresErrorCode(exception);
  if (pgCode !== undefined && INVALID_INPUT_CODES.has(pgCode)) {
    // A request value PostgreSQL cannot take (a NUL character, malformed text for the
    // column type): the client's mistake, not a server failure.
    return known(
      bodyFor(400, 'A value in the request cannot be stored or compared as given', {
        code: 'InvalidValue',
        requestId,
      }),
    );
  }
  if (pgCode === '23503') {
    return known(
      bodyFor(409, 'The object is still in use by other objects; delete or change those first', {
        code: 'StillReferenced',
        requestId,
      }),
    );
  }
  if (pgCode === '23505') {
    return known(
      bodyFor(409, 'An object with this name already exists', { code: 'AlreadyExists', requestId }),
    );
  }
  if (isDatabaseUnavailable(exception)) {
    return {
      body: bodyFor(503, 'The database is unavailable; retry later', {
        code: 'DatabaseUnavailable',
        requestId,
      }),
      kind: 'unavailable',
    };
  }
  return { body: bodyFor(500, 'Internal server error', { requestId }), kind: 'unknown' };
}

/** SQLSTATEs of values PostgreSQL refuses: NUL or bad encoding (22021), bad text for a type (22P02). */
const INVALID_INPUT_CODES: ReadonlySet<string> = new Set(['22021', '22P02']);

function isBodyParserError(e: unknown): e is { status: number; type: string } {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { type?: unknown }).type === 'string' &&
    typeof (e as { status?: unknown }).status === 'number' &&
    [400, 413, 415].includes((e as { status: number }).status)
  );
}
