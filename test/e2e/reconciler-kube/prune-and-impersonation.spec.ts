import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim, type SimCluster } from 'test/support/kube-sim/index';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import type { InventoryEntry } from 'src/modules/reconciler/kube/kube.types';
import { clientFor, configMap, inventoryOf, namespace, OWNER, services } from './kube-fixtures';

describe('Pruner and impersonation against the Kubernetes API test server', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let api: KubeApiClient;
  const { applier, pruner } = services();

  beforeAll(async () => {
    sim = await KubeSim.start();
    cluster = await sim.addCluster();
    api = clientFor(cluster);
  });
  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  it('prunes only inventory objects carrying our labels, honours prune: disabled, namespaces last', async () => {
    const keepMe = configMap('keep-me', 'old');
    keepMe.metadata.annotations = { 'gitfleet.dev/prune': 'disabled' };
    const applied = await applier.apply(
      api,
      [namespace('old'), configMap('stays', 'old'), configMap('goes', 'old'), keepMe],
      { owner: OWNER },
    );
    expect(applied.ok).toBe(true);
    // An object of the same name someone else owns, listed in a (corrupt) inventory.
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'foreign', namespace: 'old' },
      data: {},
    });
    // Another release's object.
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'other-release',
        namespace: 'old',
        labels: { 'gitfleet.dev/tenant': 'team-a', 'gitfleet.dev/release': 'api' },
      },
      data: {},
    });
    const previous: InventoryEntry[] = [
      ...inventoryOf(applied),
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'old', name: 'foreign' },
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'old', name: 'other-release' },
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'old', name: 'never-existed' },
    ];
    cluster.resetCounters();
    const result = await pruner.prune(
      api,
      previous,
      [namespace('old'), configMap('stays', 'old')],
      { owner: OWNER },
    );
    expect(result.errors).toEqual([]);
    expect(result.deleted.map((r) => r.name)).toEqual(['goes']);
    expect(Object.fromEntries(result.skipped.map((s) => [s.ref.name, s.reason]))).toEqual({
      'keep-me': 'PruneDisabled',
      foreign: 'NotOwned',
      'other-release': 'NotOwned',
      'never-existed': 'NotFound',
    });
    expect(cluster.getObject('v1', 'ConfigMap', 'goes', 'old')).toBeUndefined();
    expect(cluster.getObject('v1', 'ConfigMap', 'foreign', 'old')).toBeDefined();
    const deletes = cluster.requestLog.filter((e) => e.verb === 'delete');
    expect(deletes).toHaveLength(1);

    // Dropping everything: the ConfigMap goes before its Namespace.
    cluster.resetCounters();
    const all = await pruner.prune(api, inventoryOf(applied), [], { owner: OWNER });
    expect(all.deleted.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'ConfigMap/stays',
      'Namespace/old',
    ]);
    expect(cluster.requestLog.filter((e) => e.verb === 'delete').map((e) => e.resource)).toEqual([
      'configmaps',
      'namespaces',
    ]);
  });

  it('applies as the grant service account: Forbidden without RBAC, works with a RoleBinding', async () => {
    await applier.apply(api, [namespace('tenant-a')], { owner: OWNER });
    const sa = { namespace: 'tenant-a', name: 'deployer' };
    const denied = await applier.apply(api, [configMap('c', 'tenant-a')], {
      owner: OWNER,
      serviceAccount: sa,
    });
    expect(denied.ok).toBe(false);
    expect(denied.errors[0].code).toBe('Forbidden');
    expect(denied.errors[0].message).toContain('system:serviceaccount:tenant-a:deployer');
    expect(cluster.getObject('v1', 'ConfigMap', 'c', 'tenant-a')).toBeUndefined();
    const impersonated = cluster.requestLog.filter((e) => e.impersonatedUser !== undefined);
    expect(impersonated.length).toBeGreaterThan(0);

    cluster.seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'deployer', namespace: 'tenant-a' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'deployer', namespace: 'tenant-a' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'tenant-a' }],
      },
    );
    const allowed = await applier.apply(api, [configMap('c', 'tenant-a')], {
      owner: OWNER,
      serviceAccount: sa,
    });
    expect(allowed.errors).toEqual([]);
    expect(allowed.objects[0].action).toBe('created');
    const writes = cluster.requestLog.filter((e) => e.verb === 'patch' && e.name === 'c');
    expect(
      writes.every((e) => e.impersonatedUser === 'system:serviceaccount:tenant-a:deployer'),
    ).toBe(true);

    // Outside its namespace the same service account is refused, nothing written.
    const outside = await applier.apply(api, [configMap('c', 'default')], {
      owner: OWNER,
      serviceAccount: sa,
    });
    expect(outside.errors[0].code).toBe('Forbidden');
    expect(cluster.getObject('v1', 'ConfigMap', 'c', 'default')).toBeUndefined();
  });
});
