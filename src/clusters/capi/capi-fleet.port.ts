import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ReconcileWorker } from 'src/modules/reconciler/reconcile.worker';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetRepository } from 'src/modules/releases/target.repository';
import { CAPI_FLEET_PORT, CapiFleetPort } from './capi-sync.service';

/**
 * Binds discovery to the reconcile engine, resolved lazily from the app
 * (the engine imports the registry, so the registry cannot import it).
 * Re-selection runs here rather than through the engine's leased periodic
 * resync, which may live on another replica: a joining cluster gets its
 * targets at once. `syncForRelease` is idempotent, so racing replicas agree.
 */
export const capiFleetPortProvider: Provider = {
  provide: CAPI_FLEET_PORT,
  inject: [ModuleRef],
  useFactory: (refs: ModuleRef): CapiFleetPort => {
    const get = <T>(type: abstract new (...args: never[]) => T): T | undefined => {
      try {
        return refs.get(type, { strict: false });
      } catch {
        return undefined; // The reconcile engine is not part of this app (API-only tests).
      }
    };
    const wakeWorker = (): void => get(ReconcileWorker)?.wake();
    const reselectAll = async (): Promise<void> => {
      const releases = get(ReleasesService);
      if (releases !== undefined && (await releases.reselectAll()) > 0) {
        wakeWorker();
      }
    };
    // A pass reads every release: requests arriving while one runs share a single
    // follow-up pass (it starts after their change was committed) instead of one each.
    let running: Promise<void> | undefined;
    let queued: Promise<void> | undefined;
    const run = (): Promise<void> => {
      running = reselectAll().finally(() => {
        running = undefined;
      });
      return running;
    };
    return {
      reselect: () => {
        if (queued !== undefined) {
          return queued;
        }
        if (running === undefined) {
          return run();
        }
        queued = running
          .catch(() => undefined)
          .then(() => {
            queued = undefined;
            return run();
          });
        return queued;
      },
      wake: async (clusterId) => {
        const n = (await get(TargetRepository)?.enqueueCluster(clusterId)) ?? 0;
        if (n > 0) {
          wakeWorker();
        }
      },
    };
  },
};
