import type { ModuleRef } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { ReconcileWorker } from 'src/modules/reconciler/reconcile.worker';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { capiFleetPortProvider } from './capi-fleet.port';
import type { CapiFleetPort } from './capi-sync.service';

/** A port whose re-selection passes wait until the test lets each one finish. */
function setup() {
  const passes: (() => void)[] = [];
  const releases = {
    reselectAll: () => new Promise<number>((resolve) => passes.push(() => resolve(0))),
  };
  const refs = {
    get: (type: unknown) => {
      if (type === ReleasesService) {
        return releases;
      }
      if (type === ReconcileWorker) {
        return { wake: () => undefined };
      }
      throw new Error('not in this app');
    },
  };
  const factory = (capiFleetPortProvider as { useFactory: (r: ModuleRef) => CapiFleetPort })
    .useFactory;
  const sut = factory(refs as unknown as ModuleRef);
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return { sut, passes, tick };
}

describe('capiFleetPortProvider.reselect', () => {
  it('runs one follow-up pass for all requests made while a pass runs', async () => {
    const { sut, passes, tick } = setup();
    const first = sut.reselect();
    await tick();
    const followers = [sut.reselect(), sut.reselect(), sut.reselect()];
    expect(passes).toHaveLength(1);
    passes[0]();
    await first;
    await tick();
    expect(passes).toHaveLength(2);
    passes[1]();
    await Promise.all(followers);
    expect(passes).toHaveLength(2);
  });
});
