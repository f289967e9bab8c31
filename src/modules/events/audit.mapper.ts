import type { AuditEntryDto } from './dto/audit.dto';

export function toAuditEntryDto(r: AuditEntryDto & { timeText?: string }): AuditEntryDto {
  return {
    id: r.id,
    time: r.time,
    actor: r.actor,
    action: r.action,
    objectKind: r.objectKind,
    objectName: r.objectName,
    tenantId: r.tenantId,
    requestId: r.requestId,
    outcome: r.outcome,
    statusCode: r.statusCode,
    errorCode: r.errorCode,
    changes: r.changes,
  };
}
