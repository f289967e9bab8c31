import { Inject, Injectable } from '@nestjs/common';
import { RECONCILER_OPTIONS, ReconcilerOptions } from 'src/modules/reconciler/reconciler.options';
import {
  type ClaimedTarget,
  TargetQueueRepository,
} from 'src/modules/reconciler/target-queue.repository';

/** Keeps a running target's lease ours: renewed only when a run outlives a third of it. */
@Injectable()
export class LeaseKeeper {
  constructor(
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly targets: TargetQueueRepository,
  ) {}

  /** Renews the lease only once a third of it has passed: most runs end well before. */
  async keepIfOld(claim: ClaimedTarget, started: Date): Promise<void> {
    if (Date.now() - started.getTime() >= this.options.leaseMs / 3) {
      await this.keep(claim);
    }
  }

  async keep(claim: ClaimedTarget): Promise<void> {
    if (!(await this.targets.renewLease(claim, this.options.replicaId, this.options.leaseMs))) {
      throw new Error('lease lost');
    }
  }

  /** Shows what a running target waits for; best effort, the run's end overwrites it. */
  async showProgress(claim: ClaimedTarget, message: string): Promise<void> {
    await this.targets.showProgress(claim, this.options.replicaId, message);
  }

  /** Runs `work` while renewing the lease every third of it (a long health wait). */
  async renewWhile<T>(claim: ClaimedTarget, work: () => Promise<T>): Promise<T> {
    const renew = setInterval(
      () => void this.keep(claim).catch(() => undefined),
      this.options.leaseMs / 3,
    );
    try {
      return await work();
    } finally {
      clearInterval(renew);
    }
  }
}
