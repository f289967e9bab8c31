import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, concatMap, from, Observable, throwError } from 'rxjs';
import { principalOf } from 'src/common/auth/principal';
import { errorBodyOf } from 'src/common/errors/http-exception.filter';
import { requestIdOf } from 'src/common/logging/request-id.middleware';
import { scrubUrlUserinfo } from 'src/common/redaction/secret-scrubber';
import { AUDIT_SPEC, AuditContext, AuditSpec } from './audit.decorator';
import { AuditService } from './audit.service';

const stringOr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const field = (o: unknown, key: string): unknown =>
  typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;

/**
 * A copied value with URL userinfo removed: a refused request is audited too,
 * and its `url` may carry `https://user:token@host`.
 */
const withoutUserinfo = (value: unknown): unknown => {
  if (typeof value === 'string') {
    return scrubUrlUserinfo(value);
  }
  if (Array.isArray(value)) {
    return value.map(withoutUserinfo);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutUserinfo(v)]));
  }
  return value;
};

/** Builds the change summary from allow-listed fields only. */
export function changeSummary(spec: AuditSpec, ctx: AuditContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of spec.changes ?? []) {
    const value = field(ctx.body, key);
    if (value !== undefined) {
      out[key] = withoutUserinfo(value);
    }
  }
  for (const key of spec.queryChanges ?? []) {
    const value = ctx.query[key];
    if (value !== undefined) {
      out[key] = withoutUserinfo(value);
    }
  }
  for (const key of spec.redacted ?? []) {
    if (field(ctx.body, key) !== undefined) {
      out[key] = '[REDACTED]';
    }
  }
  return out;
}

/**
 * Writes one audit entry per call of an `@Audited` route, successful or not,
 * and holds the response until the entry is written (see ADR 0007): a client
 * told that a change happened finds it in the audit log, and an entry is kept
 * even when the client goes away before the response is sent.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<AuditSpec | undefined>(AUDIT_SPEC, context.getHandler());
    if (spec === undefined || context.getType() !== 'http') {
      return next.handle();
    }
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      // Nest sets the route's status before the handler runs, and a handler may
      // still change it (202 of a cascading delete), so it is final here.
      concatMap(async (result: unknown) => {
        await this.record(spec, req, result, res.statusCode, null);
        return result;
      }),
      // The status and code the exception filter will answer with.
      catchError((error: unknown) => {
        const { statusCode, errorCode } = failureOf(error);
        return from(this.record(spec, req, undefined, statusCode, errorCode)).pipe(
          concatMap(() => throwError(() => error)),
        );
      }),
    );
  }

  private record(
    spec: AuditSpec,
    req: Request,
    result: unknown,
    statusCode: number,
    errorCode: string | null,
  ): Promise<void> {
    const ctx: AuditContext = {
      params: req.params as Record<string, string>,
      query: req.query,
      body: req.body as unknown,
      result,
    };
    const principal = principalOf(req);
    const name =
      spec.objectName?.(ctx) ??
      stringOr(ctx.params.name) ??
      stringOr(field(ctx.body, 'name')) ??
      stringOr(field(result, 'name'));
    return this.audit.record({
      actor: principal === undefined ? 'anonymous' : `${principal.kind}:${principal.name}`,
      action: spec.action,
      objectKind: spec.objectKind,
      // Names come from the request; a refused oversize one is cut, not stored whole.
      objectName: name === undefined ? null : name.slice(0, 253),
      tenantId: spec.tenantId?.(ctx) ?? null,
      requestId: requestIdOf(req) ?? null,
      outcome: statusCode < 400 ? 'success' : 'failure',
      statusCode,
      errorCode,
      changes: changeSummary(spec, ctx),
    });
  }
}

function failureOf(error: unknown): { statusCode: number; errorCode: string } {
  const body = errorBodyOf(error);
  if (body.code !== undefined) {
    return { statusCode: body.statusCode, errorCode: body.code };
  }
  if (error instanceof HttpException) {
    return {
      statusCode: body.statusCode,
      errorCode: body.statusCode === 400 ? 'ValidationFailed' : `Http${body.statusCode}`,
    };
  }
  return { statusCode: body.statusCode, errorCode: 'InternalError' };
}
