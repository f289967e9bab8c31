import { Global, Module } from '@nestjs/common';
import { CLOCK, SystemClock } from './clock';
import { PeriodicJobs } from './periodic-jobs';
import { newReplicaId, REPLICA_ID } from './replica-id';

/** Replica id, clock and leased periodic jobs for every background loop (see README.md). */
@Global()
@Module({
  providers: [
    { provide: CLOCK, useValue: new SystemClock() },
    { provide: REPLICA_ID, useFactory: newReplicaId },
    PeriodicJobs,
  ],
  exports: [CLOCK, REPLICA_ID, PeriodicJobs],
})
export class CoordinationModule {}
