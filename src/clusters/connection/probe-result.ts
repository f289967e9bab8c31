import { transition } from 'src/common/conditions/conditions';
import type { ClusterCondition } from 'src/clusters/entities/cluster.entity';

/** PascalCase condition reasons. */
export const ProbeReason = {
  VersionRetrieved: 'VersionRetrieved',
  Timeout: 'Timeout',
  ConnectionRefused: 'ConnectionRefused',
  ConnectionReset: 'ConnectionReset',
  HostUnreachable: 'HostUnreachable',
  DnsLookupFailed: 'DnsLookupFailed',
  TlsHandshakeFailed: 'TlsHandshakeFailed',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  ServerError: 'ServerError',
  CredentialsUnavailable: 'CredentialsUnavailable',
  Unreachable: 'Unreachable',
} as const;
export type ProbeReason = (typeof ProbeReason)[keyof typeof ProbeReason];

export type ProbeResult =
  | { readonly reachable: true; readonly version: string }
  | { readonly reachable: false; readonly reason: ProbeReason; readonly message: string };

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/;

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      return code;
    }
    // AggregateError (several addresses tried): the first failure speaks for all.
    const errors = (current as { errors?: unknown }).errors;
    current =
      Array.isArray(errors) && errors.length > 0
        ? errors[0]
        : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns a failed `GET /version` into a reason and a message built from codes
 * only: never the raw error text or response body (they could echo headers).
 */
export function classifyProbeError(error: unknown, timeoutSeconds: number): ProbeResult {
  const fail = (reason: ProbeReason, message: string): ProbeResult => ({
    reachable: false,
    reason,
    message,
  });
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return fail(ProbeReason.Timeout, `The API server did not answer within ${timeoutSeconds}s`);
  }
  const status = (error as { code?: unknown } | null)?.code;
  if (typeof status === 'number' && status >= 100 && status < 600) {
    if (status === 401) {
      return fail(ProbeReason.Unauthorized, 'The API server refused the credentials (HTTP 401)');
    }
    if (status === 403) {
      return fail(ProbeReason.Forbidden, 'The credentials may not read /version (HTTP 403)');
    }
    return fail(ProbeReason.ServerError, `The API server answered HTTP ${status}`);
  }
  const code = causeCode(error);
  if (code === undefined) {
    return fail(ProbeReason.Unreachable, 'The API server could not be reached');
  }
  switch (code) {
    case 'ECONNREFUSED':
      return fail(ProbeReason.ConnectionRefused, 'Connection refused by the API server address');
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return fail(ProbeReason.ConnectionReset, 'The connection to the API server was reset');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(ProbeReason.DnsLookupFailed, 'The API server host name does not resolve');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail(ProbeReason.HostUnreachable, 'No route to the API server');
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return fail(ProbeReason.Timeout, `The API server did not answer within ${timeoutSeconds}s`);
    default:
      if (TLS_CODES.test(code)) {
        return fail(
          ProbeReason.TlsHandshakeFailed,
          `TLS verification of the API server failed (${code})`,
        );
      }
      return fail(
        ProbeReason.Unreachable,
        `The API server could not be reached (${code.replace(/[^A-Z0-9_]/gi, '')})`,
      );
  }
}

/**
 * Conditions after a probe. `lastTransitionTime` changes only when a
 * condition's status changes, as in Kubernetes.
 */
export function conditionsAfterProbe(
  previous: readonly ClusterCondition[],
  result: ProbeResult,
  now: Date,
): ClusterCondition[] {
  const reachable: Omit<ClusterCondition, 'lastTransitionTime'> = result.reachable
    ? {
        type: 'Reachable',
        status: 'True',
        reason: ProbeReason.VersionRetrieved,
        message: `Kubernetes ${result.version}`,
      }
    : { type: 'Reachable', status: 'False', reason: result.reason, message: result.message };
  const ready: Omit<ClusterCondition, 'lastTransitionTime'> = result.reachable
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'Reachable',
        message: 'The cluster API is reachable',
      }
    : { type: 'Ready', status: 'False', reason: 'Unreachable', message: result.message };
  return [ready, reachable].map((c) =>
    transition(
      previous.find((p) => p.type === c.type),
      c,
      now,
    ),
  );
}

export function conditionsEqual(
  a: readonly ClusterCondition[],
  b: readonly ClusterCondition[],
): boolean {
  if (a.length !== b.length) {
    return false;
  }
  return a.every((x) => {
    const y = b.find((c) => c.type === x.type);
    return (
      y !== undefined &&
      y.status === x.status &&
      y.reason === x.reason &&
      y.message === x.message &&
      y.lastTransitionTime === x.lastTransitionTime
    );
  });
}
