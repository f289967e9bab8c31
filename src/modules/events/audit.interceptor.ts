import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Observable, tap } from 'rxjs';
import { principalOf } from 'src/common/auth/principal';
import { AppError } from 'src/common/errors/app-error';
import { requestIdOf } from 'src/common/logging/request-id.middleware';
import { AUDIT_SPEC, AuditContext, AuditSpec } from './audit.decorator';
import { AuditService } from './audit.service';

const stringOr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const field = (o: unknown, key: string): unknown =>
  typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;

/** Builds the change summary from allow-listed fields only. */
export function changeSummary(spec: AuditSpec, ctx: AuditContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of spec.changes ?? []) {
    const value = field(ctx.body, key);
    if (value !== undefined) {
      out[key] = value;
    }
  }
  for (const key of spec.queryChanges ?? []) {
    const value = ctx.query[key];
    if (value !== undefined) {
      out[key] = value;
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
 * Writes one audit entry per call of an `@Audited` route, once the response
 * is finished (so the status is final), whether the call succeeded or not.
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
    let result: unknown;
    let errorCode: string | null = null;
    res.once('finish', () => {
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
      void this.audit.record({
        actor: principal === undefined ? 'anonymous' : `${principal.kind}:${principal.name}`,
        action: spec.action,
        objectKind: spec.objectKind,
        // Names come from the request; a refused oversize one is cut, not stored whole.
        objectName: name === undefined ? null : name.slice(0, 253),
        tenantId: spec.tenantId?.(ctx) ?? null,
        requestId: requestIdOf(req) ?? null,
        outcome: res.statusCode < 400 ? 'success' : 'failure',
        statusCode: res.statusCode,
        errorCode,
        changes: changeSummary(spec, ctx),
      });
    });
    return next.handle().pipe(
      tap({
        next: (value) => {
          result = value;
        },
        error: (error: unknown) => {
          errorCode = errorCodeOf(error);
        },
      }),
    );
  }
}

function errorCodeOf(error: unknown): string {
  if (error instanceof AppError) {
    return error.code;
  }
  if (error instanceof HttpException) {
    return error.getStatus() === 400 ? 'ValidationFailed' : `Http${error.getStatus()}`;
  }
  return 'InternalError';
}
