import { AppError, type FieldProblem } from 'src/common/errors/app-error';

/**
 * Failures talking to a workload cluster. The HTTP status is what gitfleet's own API
 * answers when such an error surfaces there (e.g. a diff request), not the cluster's.
 */
export const KUBE_ERROR_STATUS = {
  /** Connection refused/reset, DNS, TLS handshake, connect timeout. */
  Unreachable: 503,
  /** The cluster rejected gitfleet's credentials (401). */
  Unauthorized: 502,
  /** RBAC or impersonation denied (403). */
  Forbidden: 403,
  NotFound: 404,
  /** Optimistic-lock or field-manager conflict (409). */
  Conflict: 409,
  AlreadyExists: 409,
  /** Validation failed (422) or a bad request (400). */
  Invalid: 422,
  /** 422 whose cause is an immutable field: recreate needed. */
  ImmutableField: 422,
  /** 429, or 503 with Retry-After: retry after `retryAfterMs`. */
  RateLimited: 503,
  /** The request or a bounded wait took too long (incl. 504 from the server). */
  Timeout: 504,
  /** The kind is not served by the cluster (discovery has no such apiVersion/kind). */
  UnknownKind: 422,
  /** 5xx or a response gitfleet cannot read. */
  ServerError: 502,
  /** The response exceeded the configured size cap. */
  ResponseTooLarge: 502,
} as const;

export type KubeErrorCode = keyof typeof KUBE_ERROR_STATUS;

export interface KubeErrorInit {
  /** HTTP status answered by the cluster (0 when no answer). */
  httpStatus?: number;
  /** `Status.reason` from the cluster. */
  reason?: string;
  /** `Status.details.causes`, field and reason only (messages may echo values). */
  causes?: readonly { field?: string; reason?: string; message?: string }[];
  /** Delay the server asked for, for `RateLimited` (and retryable 5xx). */
  retryAfterMs?: number;
  /** Low-level error code (`ECONNREFUSED`, ...), for `Unreachable`. */
  cause?: string;
  /** What was asked when the cluster answered: for messages that name verb and resource. */
  request?: KubeRequestInfo;
}

/** The request a cluster refused: Kubernetes verb and resource (`deployments.apps`). */
export interface KubeRequestInfo {
  verb: string;
  /** Plural resource, with its group when not core: `deployments.apps`, `configmaps`. */
  resource?: string;
  dryRun?: boolean;
}

/** Error from one workload cluster, with a code callers can switch on. */
export class KubeError extends AppError {
  readonly status: number;
  readonly httpStatus: number;
  readonly reason?: string;
  readonly causes: readonly { field?: string; reason?: string; message?: string }[];
  readonly retryAfterMs?: number;
  readonly causeCode?: string;
  readonly request?: KubeRequestInfo;

  constructor(
    readonly code: KubeErrorCode,
    message: string,
    init: KubeErrorInit = {},
  ) {
    super(
      message,
      (init.causes ?? [])
        .filter((c) => c.field !== undefined)
        .map((c): FieldProblem => ({ field: c.field ?? '', message: c.reason ?? 'Invalid' })),
    );
    this.name = 'KubeError';
    this.status = KUBE_ERROR_STATUS[code];
    this.httpStatus = init.httpStatus ?? 0;
    this.reason = init.reason;
    this.causes = init.causes ?? [];
    this.retryAfterMs = init.retryAfterMs;
    this.causeCode = init.cause;
    this.request = init.request;
  }

  /** Worth retrying later with the same input (the cluster, not the input, is the problem). */
  get retryable(): boolean {
    switch (this.code) {
      case 'Unreachable':
      case 'RateLimited':
      case 'Timeout':
      case 'ServerError':
      case 'Conflict':
        return true;
      case 'Unauthorized':
      case 'Forbidden':
      case 'NotFound':
      case 'AlreadyExists':
      case 'Invalid':
      case 'ImmutableField':
      case 'UnknownKind':
      case 'ResponseTooLarge':
        return false;
    }
  }
}

export function isKubeError(e: unknown, code?: KubeErrorCode): e is KubeError {
  return e instanceof KubeError && (code === undefined || e.code === code);
}

const IMMUTABLE = /field is immutable|updates to statefulset spec for fields other than/i;

interface StatusBody {
  kind?: unknown;
  message?: unknown;
  reason?: unknown;
  code?: unknown;
  details?: { causes?: unknown; retryAfterSeconds?: unknown };
}

function parseCauses(raw: unknown): { field?: string; reason?: string; message?: string }[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.slice(0, 50).map((c: unknown) => {
    const o = (c ?? {}) as Record<string, unknown>;
    return {
      field: typeof o.field === 'string' ? o.field : undefined,
      reason: typeof o.reason === 'string' ? o.reason : undefined,
      message: typeof o.message === 'string' ? o.message.slice(0, 500) : undefined,
    };
  });
}

/** Parses a `Retry-After` header (seconds or HTTP date) into ms. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') {
    return undefined;
  }
  const s = Number(header.trim());
  if (Number.isFinite(s) && s >= 0) {
    return Math.round(s * 1000);
  }
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Builds a typed error from a non-2xx answer. `body` is the raw text (a `Status` JSON, or
 * plain text for 429). The message is the server's, truncated; gitfleet's credentials are
 * never part of a request echoed back, so it cannot carry them.
 */
export function errorFromResponse(
  httpStatus: number,
  body: string,
  retryAfterHeader: string | undefined,
  what: string,
  request?: KubeRequestInfo,
): KubeError {
  let status: StatusBody = {};
  try {
    const parsed = JSON.parse(body) as StatusBody | null;
    if (parsed !== null && typeof parsed === 'object') {
      status = parsed;
    }
  } catch {
    // 429 is plain text; others may be proxies' HTML.
  }
  const serverMessage =
    typeof status.message === 'string' && status.message !== ''
      ? status.message
      : body.trim().slice(0, 200) || `HTTP ${httpStatus}`;
  const message = `${what}: ${serverMessage}`.slice(0, 2000);
  const reason = typeof status.reason === 'string' ? status.reason : undefined;
  const causes = parseCauses(status.details?.causes);
  const detailsRetry =
    typeof status.details?.retryAfterSeconds === 'number'
      ? status.details.retryAfterSeconds * 1000
      : undefined;
  const retryAfterMs = parseRetryAfter(retryAfterHeader) ?? detailsRetry;
  const init: KubeErrorInit = { httpStatus, reason, causes, retryAfterMs, request };
  switch (httpStatus) {
    case 400:
      return new KubeError('Invalid', message, init);
    case 401:
      return new KubeError('Unauthorized', `${what}: the cluster rejected the credentials`, init);
    case 403:
      return new KubeError('Forbidden', message, init);
    case 404:
      return new KubeError('NotFound', message, init);
    case 409:
      return new KubeError(
        reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict',
        message,
        init,
      );
    case 410:
      return new KubeError('Conflict', message, init);
    case 422: {
      const immutable =
        IMMUTABLE.test(serverMessage) || causes.some((c) => IMMUTABLE.test(c.message ?? ''));
      return new KubeError(immutable ? 'ImmutableField' : 'Invalid', message, init);
    }
    case 429:
      return new KubeError('RateLimited', message, { ...init, retryAfterMs: retryAfterMs ?? 1000 });
    case 503:
      return retryAfterMs !== undefined
        ? new KubeError('RateLimited', message, init)
        : new KubeError('ServerError', message, init);
    case 504:
      return new KubeError('Timeout', message, init);
    default:
      return new KubeError(httpStatus >= 500 ? 'ServerError' : 'Invalid', message, init);
  }
}

/**
 * Secret manifests must not leak through error messages: validation messages echo
 * values (`Invalid value: "..."`). Replaces quoted values after `Invalid value:` and
 * any occurrence of the given values.
 */
export function redactValues(message: string, values: readonly string[] = []): string {
  let out = message.replace(/(Invalid value: )("(?:[^"\\]|\\.)*"|\S+)/g, '$1"<redacted>"');
  for (const v of values) {
    if (v.length >= 4) {
      out = out.split(v).join('<redacted>');
    }
  }
  return out;
}
