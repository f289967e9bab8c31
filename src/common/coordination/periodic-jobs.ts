import { Inject, Injectable } from '@nestjs/common';
import { LeaseRepository } from 'src/common/database/lease.repository';
import { CLOCK, type Clock } from './clock';
import { LeasedPeriodicJob, type PeriodicJobOptions } from './leased-periodic-job';
import { REPLICA_ID } from './replica-id';

/** Builds the leased periodic jobs of the background loops, with the one clock and replica id. */
@Injectable()
export class PeriodicJobs {
  constructor(
    private readonly leases: LeaseRepository,
    @Inject(CLOCK) readonly clock: Clock,
    @Inject(REPLICA_ID) readonly replicaId: string,
  ) {}

  create(options: PeriodicJobOptions): LeasedPeriodicJob {
    return new LeasedPeriodicJob(options, this.leases, this.clock, this.replicaId);
  }
}
