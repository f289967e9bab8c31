import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { MetricsService } from 'src/common/metrics/metrics.service';
import {
  decodeContinueToken,
  filterDigest,
  isTimeIdCursor,
  Page,
  toPage,
} from 'src/common/api/pagination';
import { AuditFilter, AuditRepository, AuditRow, NewAuditEntry } from './audit.repository';

/** Pauses between attempts at one audit write; short, as a request waits for it. */
export const AUDIT_WRITE_RETRY_DELAYS_MS: readonly number[] = [50, 200];

/** The audit trail of mutating API calls. Entries carry no secrets: callers pass allow-listed summaries. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);
  private readonly writeFailures: Counter;

  constructor(
    private readonly repository: AuditRepository,
    metrics: MetricsService,
  ) {
    this.writeFailures = new Counter({
      name: 'gitfleet_audit_write_failures_total',
      help: 'Audit entries not written to the database after retries; each is logged in full instead.',
      registers: [metrics.registry],
    });
  }

  /**
   * Writes the entry, retrying briefly. Never fails the caller: the change it
   * records has already happened, and answering an error would misreport it.
   * An entry that still cannot be written is logged in full, with its id, and
   * counted, so that it can be alerted on and restored from the log.
   */
  async record(entry: NewAuditEntry): Promise<void> {
    const id = randomUUID();
    let lastError: unknown;
    for (let attempt = 0; attempt <= AUDIT_WRITE_RETRY_DELAYS_MS.length; attempt++) {
      if (attempt > 0) {
        await new Promise((resolve) =>
          setTimeout(resolve, AUDIT_WRITE_RETRY_DELAYS_MS[attempt - 1]),
        );
      }
      try {
        await this.repository.insert(id, entry);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    this.writeFailures.inc();
    this.logger.error({
      msg: 'could not write audit entry; it is recorded here instead',
      auditEntry: { id, ...entry },
      error: lastError instanceof Error ? lastError.message : String(lastError),
    });
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
    const cursor = decodeContinueToken(page.continue, digest, 2, isTimeIdCursor);
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
