import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from './error-body.dto';

/**
 * Documents a route's error responses: HTTP status → error codes it can
 * carry. 401 (no or wrong admin token) applies to every admin route.
 */
export function ApiErrorResponses(
  errors: Readonly<Partial<Record<number, string>>>,
): MethodDecorator & ClassDecorator {
  const all: Record<number, string> = { 401: 'Unauthenticated', ...errors };
  return applyDecorators(
    ...Object.entries(all).map(([status, codes]) =>
      ApiResponse({ status: Number(status), description: `code: ${codes}`, type: ErrorBodyDto }),
    ),
  );
}
