import { Injectable, Logger } from '@nestjs/common';
import { decodeContinueToken, filterDigest, Page, toPage } from 'src/common/api/pagination';
import { AuditFilter, AuditRepository, AuditRow, NewAuditEntry } from './audit.repository';

/** The audit trail of mutating API calls. Entries carry no secrets: callers pass allow-listed summaries. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(private readonly repository: AuditRepository) {}

  /** Never fails the caller: a lost audit entry is logged loudly instead. */
  async record(entry: NewAuditEntry): Promise<void> {
    try {
      await this.repository.insert(entry);
    } catch (error) {
      this.logger.error({
        msg: 'could not write audit entry',
        action: entry.action,
        objectKind: entry.objectKind,
        objectName: entry.objectName,
        requestId: entry.requestId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async list(
    filter: AuditFilter,
    page: { limit: number; continue?: string },
  ): Promise<Page<AuditRow>> {
    const digest = filterDigest({
      ...filter,
      since: filter.since?.toISOString(),
      until: filter.until?.toISOString(),
    });
    const cursor = decodeContinueToken(page.continue, digest, 2);
    const rows = await this.repository.list(
      filter,
      cursor === undefined ? undefined : [cursor[0], cursor[1]],
      page.limit,
    );
    return toPage(
      rows,
      page.limit,
      (r) => [r.timeText, r.id],
      digest,
      (r) => r,
    );
  }
}
