import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A named, expiring lease with a fencing token. Singleton jobs (for instance
 * a watch of the management cluster) run only on the replica holding it.
 */
@Entity({ name: 'lease' })
export class LeaseEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_lease' })
  name!: string;

  @Column({ type: 'text' })
  holder!: string;

  /** Increases every time the lease changes hands; writes carry it to reject stale holders. */
  @Column({ type: 'bigint', name: 'fencing_token' })
  fencingToken!: string;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt!: Date;
}
