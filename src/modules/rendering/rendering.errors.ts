/**
 * Errors raised by rendering and policy. Messages name files relative to the
 * artifact root and objects by kind/namespace/name; they never carry file
 * contents from outside the artifact, and never variable values.
 */
export const RenderingErrorCode = {
  /** The tool failed or the output was not valid Kubernetes YAML/JSON. */
  RenderFailed: 'RenderFailed',
  /** The release spec or target facts are malformed (bad name, bad version, missing path). */
  InvalidInput: 'InvalidInput',
  /** A `${var}` has no value. */
  UndefinedVariable: 'UndefinedVariable',
  /** A release variable has an invalid name or collides with a built-in. */
  InvalidVariable: 'InvalidVariable',
  /** A cap (objects, bytes, files, aliases, output) was hit. */
  LimitExceeded: 'LimitExceeded',
  /** A path (or a symlink) points outside the artifact. */
  PathEscapesArtifact: 'PathEscapesArtifact',
  /** A kustomization references a remote base while remote bases are not allowed. */
  RemoteBaseRefused: 'RemoteBaseRefused',
  /** A kustomization uses exec/KRM functions, plugins or Helm inflation. */
  FunctionRefused: 'FunctionRefused',
  /** The rendered set breaks the grant's policy; nothing may be applied. */
  PolicyViolation: 'PolicyViolation',
  /** A child process ran past its timeout and was killed. */
  Timeout: 'Timeout',
  /** The caller aborted the render. */
  Aborted: 'Aborted',
  /** The path holds a format gitfleet does not render (Jsonnet, CUE, a chart where Kustomize was asked). */
  UnsupportedFormat: 'UnsupportedFormat',
  /** A chart dependency (Chart.yaml `dependencies`) could not be fetched. */
  DependencyFetchFailed: 'DependencyFetchFailed',
} as const;

export type RenderingErrorCode = (typeof RenderingErrorCode)[keyof typeof RenderingErrorCode];

const STATUS: Readonly<Record<RenderingErrorCode, number>> = {
  RenderFailed: 422,
  InvalidInput: 400,
  UndefinedVariable: 422,
  InvalidVariable: 400,
  LimitExceeded: 422,
  PathEscapesArtifact: 422,
  RemoteBaseRefused: 422,
  FunctionRefused: 422,
  PolicyViolation: 422,
  Timeout: 504,
  Aborted: 499,
  UnsupportedFormat: 422,
  DependencyFetchFailed: 502,
};

// Timeouts and aborts can succeed on retry; everything else needs a new revision or spec.
const RETRYABLE: ReadonlySet<RenderingErrorCode> = new Set([
  'Timeout',
  'Aborted',
  'DependencyFetchFailed',
]);

/** One refused object in a policy check. */
export interface PolicyViolationDetail {
  /** `group/kind namespace/name` of the object, or its index when it has no identity. */
  readonly object: string;
  readonly message: string;
}

/**
 * Shape-compatible with the common AppError (code, status, details) so the HTTP
 * filter can map it; kept standalone so the rendering context has no runtime deps.
 */
export class RenderingError extends Error {
  readonly status: number;

  constructor(
    readonly code: RenderingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RenderingError';
    this.status = STATUS[code];
  }

  /** True when the same input may render on a later attempt. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** The whole object set was refused; `violations` lists at most the first 20. */
export class PolicyViolationError extends RenderingError {
  constructor(
    readonly violations: readonly PolicyViolationDetail[],
    readonly totalViolations: number,
  ) {
    const more =
      totalViolations > violations.length
        ? `; and ${totalViolations - violations.length} more`
        : '';
    super(
      RenderingErrorCode.PolicyViolation,
      `${totalViolations} policy violation(s): ${violations.map((v) => `${v.object}: ${v.message}`).join('; ')}${more}`,
    );
    this.name = 'PolicyViolationError';
  }
}
