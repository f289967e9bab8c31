import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/index';
import { KubeSim } from 'test/support/kube-sim/index';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function configMap(
  name: string,
  data: Record<string, string>,
): k8s.KubernetesObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

describe('@kubernetes/client-node against kube-sim', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let objects: k8s.KubernetesObjectApi;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    sim = await KubeSim.start();
    cluster = await sim.addCluster({ name: 'client-node' });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig());
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('creates, updates and no-ops with server-side apply', async () => {
    const apply = (
      o: k8s.KubernetesObject,
      manager: string,
      force?: boolean,
    ): Promise<k8s.KubernetesObject> =>
      objects.patch(o, undefined, undefined, manager, force, k8s.PatchStrategy.ServerSideApply);
    const created = await apply(configMap('app', { a: '1' }), 'gitfleet');
    expect(created.metadata?.managedFields?.[0]).toMatchObject({
      manager: 'gitfleet',
      operation: 'Apply',
    });
    const updated = await apply(configMap('app', { a: '2' }), 'gitfleet');
    expect((updated as k8s.V1ConfigMap).data).toEqual({ a: '2' });
    const again = await apply(configMap('app', { a: '2' }), 'gitfleet');
    expect(again.metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion);
    const patchRequests = cluster.requestLog.filter((e) => e.method === 'PATCH');
    expect(patchRequests.every((e) => e.query.includes('fieldManager=gitfleet'))).toBe(true);
  });

  it('surfaces the 409 conflict and succeeds with force', async () => {
    const err = await objects
      .patch(
        configMap('app', { a: '3' }),
        undefined,
        undefined,
        'intruder',
        false,
        k8s.PatchStrategy.ServerSideApply,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    const apiErr = err as k8s.ApiException<string>;
    expect(apiErr.code).toBe(409);
    expect(JSON.parse(apiErr.body) as unknown).toMatchObject({
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "gitfleet": .data.a',
    });
    const forced = await objects.patch(
      configMap('app', { a: '3' }),
      undefined,
      undefined,
      'intruder',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    expect(forced.metadata?.managedFields?.map((m) => m.manager)).toEqual(['intruder']);
  });

  it('reads, lists and deletes through the generic object API', async () => {
    const read = await objects.read<k8s.V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app', namespace: 'default' },
    });
    expect(read.data).toEqual({ a: '3' });
    const list = await objects.list('v1', 'ConfigMap', 'default');
    expect(list.items.map((i) => i.metadata?.name).sort()).toEqual(['app', 'kube-root-ca.crt']);
    await objects.delete({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app', namespace: 'default' },
    });
    const gone = await objects
      .read({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app', namespace: 'default' },
      })
      .catch((e: unknown) => e);
    expect((gone as k8s.ApiException<string>).code).toBe(404);
  });

  it('rejects client-node typed patches sent with the default json-patch content type and a merge body', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: configMap('typed', { a: '1' }),
    });
    const err = await core
      .patchNamespacedConfigMap({ name: 'typed', namespace: 'default', body: { data: { a: '2' } } })
      .catch((e: unknown) => e);
    expect((err as k8s.ApiException<string>).code).toBe(400);
  });

  it('keeps an informer in sync through list+watch', async () => {
    const names = new Set<string>();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig());
    const inf = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    inf.on('add', (o) => names.add(o.metadata?.name ?? ''));
    inf.on('delete', (o) => names.delete(o.metadata?.name ?? ''));
    await inf.start();
    await until(() => names.has('kube-root-ca.crt') && names.has('typed'));
    cluster.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' } });
    await until(() => names.has('live'));
    await core.deleteNamespacedConfigMap({ name: 'live', namespace: 'default' });
    await until(() => !names.has('live'));
    await inf.stop();
    expect(cluster.requestLog.some((e) => e.verb === 'watch' && e.resource === 'configmaps')).toBe(
      true,
    );
  });
});
