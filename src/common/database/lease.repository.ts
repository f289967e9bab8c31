import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  readonly fencingToken: bigint;
  readonly expiresAt: Date;
}

interface LeaseRow {
  name: string;
  holder: string;
  fencing_token: string;
  expires_at: Date;
}

const toLease = (row: LeaseRow): HeldLease => ({
  name: row.name,
  holder: row.holder,
  fencingToken: BigInt(row.fencing_token),
  expiresAt: row.expires_at,
});

@Injectable()
export class LeaseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes the lease if it is free, expired, or already ours (then renews it).
   * One statement, so two replicas racing cannot both win. The database clock
   * decides expiry, not the replicas' clocks.
   */
  async tryAcquire(name: string, holder: string, ttlMs: number): Promise<HeldLease | undefined> {
    const rows = await this.dataSource.query<LeaseRow[]>(
      `INSERT INTO lease (name, holder, fencing_token, expires_at)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE
         SET holder = EXCLUDED.holder,
             fencing_token = lease.fencing_token + CASE WHEN lease.holder = EXCLUDED.holder THEN 0 ELSE 1 END,
             expires_at = EXCLUDED.expires_at
         WHERE lease.holder = EXCLUDED.holder OR lease.expires_at < now()
       RETURNING name, holder, fencing_token, expires_at`,
      [name, holder, ttlMs],
    );
    return rows[0] === undefined ? undefined : toLease(rows[0]);
  }

  async release(name: string, holder: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE lease SET expires_at = now() - interval '1 second' WHERE name = $1 AND holder = $2`,
      [name, holder],
    );
  }

  /** Removes a lease held by `holder` (per-object leases, so rows of finished work do not pile up). */
  async drop(name: string, holder: string): Promise<void> {
    await this.dataSource.query('DELETE FROM lease WHERE name = $1 AND holder = $2', [
      name,
      holder,
    ]);
  }

  async find(name: string): Promise<HeldLease | undefined> {
    const rows = await this.dataSource.query<LeaseRow[]>(
      'SELECT name, holder, fencing_token, expires_at FROM lease WHERE name = $1',
      [name],
    );
    return rows[0] === undefined ? undefined : toLease(rows[0]);
  }
}
