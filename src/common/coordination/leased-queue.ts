import { isTransientDatabaseError } from 'src/common/database/db-errors';
import type { Clock } from './clock';

/** Runs one SQL statement; TypeORM's `DataSource.query` fits (UPDATE/DELETE answer `[rows, count]`). */
export type QueryFn = <T>(sql: string, params: unknown[]) => Promise<T>;

/** A claimed row: its id and the fencing token every later write must carry. */
export interface QueueClaim {
  readonly id: string;
  readonly fencingToken: string;
}

/** What every claimed row returns at least. */
export interface ClaimedRow {
  readonly id: string;
  readonly fencing_token: string | number;
}

export interface LeasedQueueTable {
  readonly table: string;
  /** Column whose values get their own concurrency bound (e.g. `cluster_id`). */
  readonly partitionColumn: string;
  /** SQL type of the partition column, for the allowance parameter. */
  readonly partitionType: string;
}

export interface ClaimRequest {
  readonly owner: string;
  /** Free slots of the caller: never more rows than this. */
  readonly limit: number;
  readonly leaseMs: number;
  /** Most rows of one partition the caller may run at once. */
  readonly perPartition: number;
  /** Rows the caller already runs, by partition: they use up that partition's allowance. */
  readonly running: ReadonlyMap<string, number>;
  /** Columns returned for each claimed row (of the table, aliased `t`); `t.id` and `t.fencing_token` among them. */
  readonly returning: string;
  /** Further assignments of the claim's UPDATE (the table aliased `t`), e.g. a status the claim shows. */
  readonly set?: string;
}

export interface RetryPolicy {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** Bounds of the due prefix a claim ranks: four rows per slot and partition allowance. */
const MIN_RANKED = 64;
const MAX_RANKED = 2_000;

const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 100, maxDelayMs: 1_000 };

/**
 * A PostgreSQL table used as a work queue under leases (ADR 0003, 0008). Rows
 * are due when `next_run_at` passed and no unexpired lease is on them. A claim
 * takes at most the caller's free slots and, per partition, at most its
 * allowance (`perPartition` minus what the caller runs there), so one slow
 * partition never takes every slot and a second replica finds work left.
 * Every later write is fenced by owner and fencing token; writes that find
 * the database away are retried with a small backoff until it answers, but
 * never past the lease: after that the row belongs to whoever claims it next.
 *
 * Columns: `id`, `next_run_at`, `lease_owner`, `lease_expires_at`, `fencing_token`.
 */
export class LeasedQueue {
  /** Local estimate of each held lease's end (`id:token` → ms), the retry bound. */
  private readonly deadlines = new Map<string, number>();

  constructor(
    private readonly spec: LeasedQueueTable,
    private readonly query: QueryFn,
    private readonly clock: Clock,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Rows due now, within the slot and partition bounds, leased to `owner`. */
  async claim<Row extends ClaimedRow>(request: ClaimRequest): Promise<Row[]> {
    if (request.limit <= 0) {
      return [];
    }
    const { table, partitionColumn: part, partitionType } = this.spec;
    const started = this.clock.now();
    const partitions = [...request.running.keys()];
    const allowances = partitions.map((p) =>
      Math.max(0, request.perPartition - (request.running.get(p) ?? 0)),
    );
    const set = request.set === undefined ? '' : `, ${request.set}`;
    // Lock a short prefix of the due index (partitions already full left out by
    // the scan), rank what this claim locked per partition, and lease the rows
    // within each allowance: the claim never walks every due row, and two
    // replicas claiming at once rank disjoint prefixes (SKIP LOCKED) instead of
    // the same rows. A prefix filled by one partition yields fewer rows this
    // round; the worker claims again at once. The lock re-checks due-ness.
    // FOR UPDATE cannot sit beside a window function, hence the two levels.
    const [rows] = await this.query<[Row[], number]>(
      `WITH allowance AS (
         SELECT * FROM unnest($4::${partitionType}[], $5::int[]) AS a(part, slots)
       ), due AS (
         SELECT q.id, q.next_run_at, q.${part} FROM ${table} q
         WHERE q.next_run_at <= now() AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
           AND q.${part} NOT IN (SELECT part FROM allowance WHERE slots = 0)
         ORDER BY q.next_run_at
         LIMIT LEAST(${MAX_RANKED}, GREATEST(${MIN_RANKED}, $2::int * $6::int * 4))
         FOR UPDATE OF q SKIP LOCKED
       ), ranked AS (
         SELECT id, next_run_at, ${part} AS part,
                row_number() OVER (PARTITION BY ${part} ORDER BY next_run_at, id) AS rank
         FROM due
       ), picked AS (
         SELECT r.id FROM ranked r
           LEFT JOIN allowance a ON a.part = r.part
         WHERE r.rank <= COALESCE(a.slots, $6)
         ORDER BY r.next_run_at, r.id
         LIMIT $2
       )
       UPDATE ${table} t
         SET lease_owner = $1,
             lease_expires_at = now() + make_interval(secs => $3::double precision / 1000),
             fencing_token = t.fencing_token + 1${set}
       FROM picked WHERE t.id = picked.id
       RETURNING ${request.returning}`,
      [request.owner, request.limit, request.leaseMs, partitions, allowances, request.perPartition],
    );
    this.sweep(started);
    for (const row of rows) {
      this.deadlines.set(
        key({ id: row.id, fencingToken: String(row.fencing_token) }),
        started + request.leaseMs,
      );
    }
    return rows;
  }

  /**
   * The condition of a fenced write, with the claim's id, owner and token as
   * parameters `$first`, `$first+1`, `$first+2`.
   */
  fence(first = 1): string {
    return `id = $${first} AND lease_owner = $${first + 1} AND fencing_token = $${first + 2} AND lease_expires_at > now()`;
  }

  /** Extends the lease; false when it was lost. */
  async renew(claim: QueueClaim, owner: string, leaseMs: number): Promise<boolean> {
    const started = this.clock.now();
    const [, count] = await this.untilAnswered(claim, () =>
      this.query<[unknown[], number]>(
        `UPDATE ${this.spec.table} SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000)
         WHERE ${this.fence()}`,
        [claim.id, owner, claim.fencingToken, leaseMs],
      ),
    );
    if (count > 0) {
      this.deadlines.set(key(claim), started + leaseMs);
    }
    return count > 0;
  }

  /** Hands the row back unfinished, due at `nextRunAt`. */
  async release(claim: QueueClaim, owner: string, nextRunAt: Date, set?: string): Promise<void> {
    const extra = set === undefined ? '' : `, ${set}`;
    await this.final(claim, () =>
      this.query(
        `UPDATE ${this.spec.table} SET lease_owner = NULL, lease_expires_at = NULL, next_run_at = $4${extra}
         WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3`,
        [claim.id, owner, claim.fencingToken, nextRunAt],
      ),
    );
  }

  /** Deletes the claimed row; false when the lease was lost. */
  async delete(claim: QueueClaim, owner: string): Promise<boolean> {
    const [, count] = await this.final(claim, () =>
      this.query<[unknown[], number]>(`DELETE FROM ${this.spec.table} WHERE ${this.fence()}`, [
        claim.id,
        owner,
        claim.fencingToken,
      ]),
    );
    return count > 0;
  }

  /** The last write of a claim (its result): retried like any, then the claim is forgotten. */
  async final<T>(claim: QueueClaim, write: () => Promise<T>): Promise<T> {
    try {
      return await this.untilAnswered(claim, write);
    } finally {
      this.deadlines.delete(key(claim));
    }
  }

  /**
   * Runs `write`, retrying while the database does not answer, with a doubling
   * delay, until the claim's lease would have expired. Errors the database
   * answered with (a constraint, bad SQL) are not retried.
   */
  async untilAnswered<T>(claim: QueueClaim, write: () => Promise<T>): Promise<T> {
    const deadline = this.deadlines.get(key(claim));
    let delay = this.retry.firstDelayMs;
    for (;;) {
      try {
        return await write();
      } catch (error) {
        const retry =
          deadline !== undefined &&
          isTransientDatabaseError(error) &&
          this.clock.now() + delay < deadline;
        if (!retry) {
          throw error;
        }
      }
      await this.clock.sleep(delay);
      delay = Math.min(delay * 2, this.retry.maxDelayMs);
    }
  }

  /** Claims held by this process whose lease is over by now (a run that ended without a write). */
  private sweep(now: number): void {
    for (const [k, deadline] of this.deadlines) {
      if (deadline < now) {
        this.deadlines.delete(k);
      }
    }
  }
}

const key = (claim: QueueClaim): string => `${claim.id}:${claim.fencingToken}`;
