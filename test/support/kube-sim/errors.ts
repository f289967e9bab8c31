import type { Dict } from 'test/support/kube-sim/types';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** An error that renders as a Kubernetes `Status` body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Dict {
    const body: Dict = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
    };
    if (this.reason) {
      body.reason = this.reason;
    }
    if (this.details) {
      const d: Dict = {};
      for (const [k, v] of Object.entries(this.details)) {
        if (v !== undefined && v !== '') {
          d[k] = v;
        }
      }
      body.details = d;
    }
    body.code = this.code;
    return body;
  }
}

export interface ResourceRef {
  group: string;
  plural: string;
}

export function qualifiedResource(r: ResourceRef): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export const Errors = {
  badRequest: (message: string): ApiError => new ApiError(400, 'BadRequest', message),
  unauthorized: (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  notFound: (r: ResourceRef, name: string): ApiError =>
    new ApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.plural,
    }),
  notFoundPath: (): ApiError =>
    new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (r: ResourceRef, name: string, generated = false): ApiError =>
    new ApiError(
      409,
      'AlreadyExists',
      `${qualifiedResource(r)} "${name}" already exists` +
        (generated ? ', the server was not able to generate a unique name for the object' : ''),
      { name, group: r.group, kind: r.plural },
    ),
  conflict: (r: ResourceRef, name: string, why?: string): ApiError =>
    new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${
        why ??
        'the object has been modified; please apply your changes to the latest version and try again'
      }`,
      { name, group: r.group, kind: r.plural },
    ),
  methodNotAllowed: (r: ResourceRef, verb: string): ApiError =>
    new ApiError(
      405,
      'MethodNotAllowed',
      `${verb} is not supported on resources of kind "${qualifiedResource(r)}"`,
      { group: r.group, kind: r.plural },
    ),
  expired: (message: string): ApiError => new ApiError(410, 'Expired', message),
  unsupportedMediaType: (accepted: string[]): ApiError =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
  invalid: (kind: string, group: string, name: string, causes: FieldError[]): ApiError => {
    const rendered = causes.map((c) => `${c.field}: ${c.message}`);
    const body = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
    const qkind = group ? `${kind}.${group}` : kind;
    return new ApiError(422, 'Invalid', `${qkind} "${name}" is invalid: ${body}`, {
      name,
      group,
      kind,
      causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
    });
  },
  internal: (message: string): ApiError =>
    new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
      causes: [{ message }],
    }),
};

/** One validation failure, rendered like apimachinery's field.Error. */
export interface FieldError {
  field: string;
  reason:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueForbidden'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueTooLong';
  message: string;
}

export const FieldErrors = {
  required: (field: string, detail: string): FieldError => ({
    field,
    reason: 'FieldValueRequired',
    message: `Required value${detail ? `: ${detail}` : ''}`,
  }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    field,
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    field,
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, allowed: string[]): FieldError => ({
    field,
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  }),
};
