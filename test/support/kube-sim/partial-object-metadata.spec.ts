import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { simRequest, simWatch } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const SECRETS = '/api/v1/namespaces/default/secrets';
const ITEM = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

describe('PartialObjectMetadata content negotiation', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start();
    sut = await sim.addCluster();
    const created = await simRequest(sut, 'POST', SECRETS, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's1', labels: { app: 'x' } },
        type: 'Opaque',
        stringData: { value: 'top-secret' },
      },
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('answers a GET with only the metadata, kind PartialObjectMetadata in meta.k8s.io/v1', async () => {
    const res = await simRequest(sut, 'GET', `${SECRETS}/s1`, { headers: { Accept: ITEM } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(ITEM);
    expect(res.body.kind).toBe('PartialObjectMetadata');
    expect(res.body.apiVersion).toBe('meta.k8s.io/v1');
    expect(res.body.metadata).toMatchObject({
      name: 's1',
      namespace: 'default',
      labels: { app: 'x' },
    });
    expect(Object.keys(res.body).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(res.text).not.toContain('dG9wLXNlY3JldA');
  });

  it('answers a LIST with a PartialObjectMetadataList whose items carry their kind', async () => {
    const res = await simRequest(sut, 'GET', `${SECRETS}?labelSelector=app`, {
      headers: { Accept: `${LIST},application/json` },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
    });
    expect(res.body.metadata.resourceVersion).toBeDefined();
    const items = res.body.items as unknown as { kind: string; apiVersion: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(res.text).not.toContain('dG9wLXNlY3JldA');
  });

  it('reduces every watch event object to PartialObjectMetadata', async () => {
    const list = await simRequest(sut, 'GET', SECRETS, { headers: { Accept: LIST } });
    const listed: unknown = list.body.metadata.resourceVersion;
    expect(typeof listed).toBe('string');
    const rv = typeof listed === 'string' ? listed : '';
    await simRequest(sut, 'PATCH', `${SECRETS}/s1`, {
      body: { stringData: { value: 'rotated-secret' } },
      contentType: 'application/merge-patch+json',
    });
    const { status, events } = await simWatch(
      sut,
      `${SECRETS}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      (e) => e.length >= 1,
      { accept: `${ITEM},application/json` },
    );
    expect(status).toBe(200);
    expect(events[0].type).toBe('MODIFIED');
    expect(events[0].object.kind).toBe('PartialObjectMetadata');
    expect(Object.keys(events[0].object).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(Number(events[0].object.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  });

  it('sends whole watch event objects when asked for the list kind, as the apiserver does', async () => {
    const list = await simRequest(sut, 'GET', SECRETS, { headers: { Accept: LIST } });
    const listed: unknown = list.body.metadata.resourceVersion;
    const rv = typeof listed === 'string' ? listed : '';
    await simRequest(sut, 'PATCH', `${SECRETS}/s1`, {
      body: { stringData: { value: 'rotated-again' } },
      contentType: 'application/merge-patch+json',
    });
    const { events } = await simWatch(
      sut,
      `${SECRETS}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      (e) => e.length >= 1,
      { accept: `${LIST},application/json` },
    );
    expect(events[0].object.kind).toBe('Secret');
    expect(events[0].object).toHaveProperty('type', 'Opaque');
  });

  it('takes the Accept clauses in order of q and skips conversions it cannot honour', async () => {
    const preferred = await simRequest(sut, 'GET', SECRETS, {
      headers: { Accept: `application/json;q=0.5,${LIST}` },
    });
    expect(preferred.body.kind).toBe('PartialObjectMetadataList');
    const fallback = await simRequest(sut, 'GET', SECRETS, {
      headers: {
        Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v9,application/json',
      },
    });
    expect(fallback.status).toBe(200);
    expect(fallback.body.kind).toBe('SecretList');
  });

  it('answers 406 NotAcceptable when no clause can be honoured, or the kind does not fit', async () => {
    const none = await simRequest(sut, 'GET', SECRETS, {
      headers: { Accept: 'application/json;as=Unknown;g=meta.k8s.io;v=v1' },
    });
    expect(none.status).toBe(406);
    expect(none.body).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
    const itemOnList = await simRequest(sut, 'GET', SECRETS, { headers: { Accept: ITEM } });
    expect(itemOnList.status).toBe(406);
    expect(itemOnList.body.message).toContain('is a list');
    const listOnItem = await simRequest(sut, 'GET', `${SECRETS}/s1`, { headers: { Accept: LIST } });
    expect(listOnItem.status).toBe(406);
    expect(listOnItem.body.message).toContain('is not a list');
  });
});
