import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import type { ClusterPeer } from 'src/modules/releases/releases.types';
import { configMap, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import { OwnershipCheck } from './ownership.check';

const ref = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' };
const owner = { tenant: 'team-a', release: 'web' };

function peer(over: Partial<ClusterPeer> = {}): ClusterPeer {
  return {
    targetId: 'target-2',
    tenantId: 'tenant-1',
    tenantName: 'team-a',
    releaseName: 'first',
    departing: false,
    adopt: 'IfUnowned',
    inventory: [],
    conflicts: [],
    ...over,
  };
}

function labelled(tenant: string, release: string): KubeObject {
  return {
    ...configMap('a'),
    metadata: {
      name: 'a',
      namespace: 'apps',
      labels: { 'gitfleet.dev/tenant': tenant, 'gitfleet.dev/release': release },
    },
  };
}

function setup(
  peers: ClusterPeer[],
  live: KubeObject | null,
): ReturnType<typeof automock<typeof OwnershipCheck, ['targets', 'liveReader']>> {
  const built = automock(OwnershipCheck, ['targets', 'liveReader']);
  built.deps.targets.peersOnCluster.mockResolvedValue(peers);
  built.deps.liveReader.read.mockResolvedValue(new Map([['/ConfigMap/apps/a', live]]));
  return built;
}

describe(OwnershipCheck.name, () => {
  it('reads nothing when every rendered object is in the inventory already', async () => {
    const { sut, deps } = setup([], null);
    const ctx = reconcileContext({ target: { inventory: [ref] } });

    expect(await sut.conflicts(ctx, mockOf<KubeApi>(), [configMap('a')], owner)).toEqual([]);
    expect(deps.targets.peersOnCluster).not.toHaveBeenCalled();
    expect(deps.liveReader.read).not.toHaveBeenCalled();
  });

  it("refuses an object in another staying target's inventory, naming its release", async () => {
    const { sut } = setup([peer({ inventory: [ref] })], labelled('team-a', 'first'));

    expect(
      await sut.conflicts(reconcileContext(), mockOf<KubeApi>(), [configMap('a')], owner),
    ).toEqual([{ ref, why: 'owned by release "first" on this cluster' }]);
  });

  it("never names another tenant's release", async () => {
    const { sut } = setup(
      [peer({ tenantName: 'team-secret', releaseName: 'hidden' })],
      labelled('team-secret', 'hidden'),
    );

    const conflicts = await sut.conflicts(
      reconcileContext(),
      mockOf<KubeApi>(),
      [configMap('a')],
      owner,
    );

    expect(conflicts).toEqual([
      { ref, why: 'owned by a release of another tenant on this cluster' },
    ]);
    expect(JSON.stringify(conflicts)).not.toMatch(/team-secret|hidden/);
  });

  it('takes over from a departing target, an unknown label owner, or anyone with adopt: Always', async () => {
    const ctx = reconcileContext();
    const api = mockOf<KubeApi>();
    const departing = setup(
      [peer({ inventory: [ref], departing: true })],
      labelled('team-a', 'first'),
    );
    expect(await departing.sut.conflicts(ctx, api, [configMap('a')], owner)).toEqual([]);

    const gone = setup([], labelled('team-a', 'deleted-long-ago'));
    expect(await gone.sut.conflicts(ctx, api, [configMap('a')], owner)).toEqual([]);

    const always = setup([peer({ inventory: [ref] })], labelled('team-a', 'first'));
    const adopting = reconcileContext({ release: { adopt: 'Always' } });
    expect(await always.sut.conflicts(adopting, api, [configMap('a')], owner)).toEqual([]);
  });

  it('checks an inventory object the snapshot no longer shows as its own: another release took it', async () => {
    const { sut } = setup(
      [peer({ inventory: [ref], adopt: 'Always' })],
      labelled('team-a', 'first'),
    );
    const ctx = reconcileContext({ target: { inventory: [ref] } });

    expect(
      await sut.conflicts(
        ctx,
        mockOf<KubeApi>(),
        [configMap('a')],
        owner,
        new Set(['/ConfigMap/apps/a']),
      ),
    ).toEqual([{ ref, why: 'owned by release "first" on this cluster' }]);
  });

  it('with adopt: Never refuses any existing object it does not own, reading without a selector', async () => {
    const { sut, deps } = setup([], configMap('a'));
    const never = reconcileContext({ release: { adopt: 'Never' } });

    expect(await sut.conflicts(never, mockOf<KubeApi>(), [configMap('a')], owner)).toEqual([
      { ref, why: 'exists already (not managed by gitfleet) and the release sets adopt: Never' },
    ]);
    expect(deps.liveReader.read).toHaveBeenCalledWith(expect.anything(), [ref], {});
  });
});
