import { describe, expect, it } from 'vitest';
import { errorFromResponse, parseRetryAfter, redactValues } from 'src/common/kube/kube.errors';

const status = (
  code: number,
  reason: string,
  message: string,
  details: Record<string, unknown> = {},
) =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  });

describe('errorFromResponse', () => {
  it('maps Status bodies to codes with causes', () => {
    const e = errorFromResponse(
      422,
      status(422, 'Invalid', 'ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad"', {
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: "Bad"', field: 'metadata.name' },
        ],
      }),
      undefined,
      'apply ConfigMap Bad',
    );
    expect(e.code).toBe('Invalid');
    expect(e.httpStatus).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.causes[0].field).toBe('metadata.name');
    expect(e.message).toContain('apply ConfigMap Bad: ConfigMap "Bad" is invalid');
    expect(e.retryable).toBe(false);
  });

  it('recognizes immutable fields', () => {
    const e = errorFromResponse(
      422,
      status(
        422,
        'Invalid',
        'Deployment.apps "w" is invalid: spec.selector: Invalid value: {}: field is immutable',
      ),
      undefined,
      'apply',
    );
    expect(e.code).toBe('ImmutableField');
  });

  it('turns a plain-text 429 into RateLimited with the Retry-After delay', () => {
    const e = errorFromResponse(429, 'Too many requests, please try again later.', '3', 'get');
    expect(e.code).toBe('RateLimited');
    expect(e.retryAfterMs).toBe(3000);
    expect(e.retryable).toBe(true);
  });

  it('treats 503 with Retry-After as RateLimited and without as ServerError', () => {
    expect(errorFromResponse(503, '', '2', 'get').code).toBe('RateLimited');
    expect(errorFromResponse(503, '', undefined, 'get').code).toBe('ServerError');
  });

  it('maps 401/403/404/409/504', () => {
    expect(
      errorFromResponse(401, status(401, 'Unauthorized', 'Unauthorized'), undefined, 'x').code,
    ).toBe('Unauthorized');
    expect(errorFromResponse(403, status(403, 'Forbidden', 'no'), undefined, 'x').code).toBe(
      'Forbidden',
    );
    expect(errorFromResponse(404, status(404, 'NotFound', 'no'), undefined, 'x').code).toBe(
      'NotFound',
    );
    expect(errorFromResponse(409, status(409, 'AlreadyExists', 'no'), undefined, 'x').code).toBe(
      'AlreadyExists',
    );
    expect(errorFromResponse(409, status(409, 'Conflict', 'no'), undefined, 'x').code).toBe(
      'Conflict',
    );
    expect(errorFromResponse(504, status(504, 'Timeout', 'slow'), undefined, 'x').code).toBe(
      'Timeout',
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('redactValues', () => {
  it('removes values echoed by validation messages and known secret values', () => {
    const m = redactValues(
      'Secret "s" is invalid: data[key]: Invalid value: "hunter2hunter2": bad; also topsecret',
      ['topsecret'],
    );
    expect(m).not.toContain('hunter2');
    expect(m).not.toContain('topsecret');
  });
});
