import { SetMetadata } from '@nestjs/common';

/** What an audited route saw: path parameters, query, validated body and, on success, its result. */
export interface AuditContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
  readonly result: unknown;
}

export interface AuditSpec {
  /** `<kind>.<verb>`, e.g. `cluster.register`. */
  readonly action: string;
  /** Object kind in the vocabulary: Tenant, Cluster, Grant. */
  readonly objectKind: string;
  /** Object name; default: `params.name`, else the body's or the result's `name`. */
  readonly objectName?: (ctx: AuditContext) => string | undefined;
  /** Tenant the object belongs to, when known. */
  readonly tenantId?: (ctx: AuditContext) => string | null | undefined;
  /** Body fields copied into the change summary: an allow-list, so a secret is never copied by accident. */
  readonly changes?: readonly string[];
  /** Query parameters copied into the change summary. */
  readonly queryChanges?: readonly string[];
  /** Body fields recorded only as "[REDACTED]" when present (e.g. kubeconfig). */
  readonly redacted?: readonly string[];
}

export const AUDIT_SPEC = 'gitfleet:audit-spec';

/** Records this mutating route in the audit log, on success and on failure. */
export const Audited = (spec: AuditSpec): MethodDecorator => SetMetadata(AUDIT_SPEC, spec);
