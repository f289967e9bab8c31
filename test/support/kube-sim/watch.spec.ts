import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { simRequest, simWatch, str } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const CM = '/api/v1/namespaces/default/configmaps';

describe('watch', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start({ bookmarkIntervalMs: 50 });
    sut = await sim.addCluster();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('replays events strictly after the given resourceVersion, DELETED carrying the deletion RV', async () => {
    const list = await simRequest(sut, 'GET', CM);
    const rv = list.body.metadata.resourceVersion as unknown as string;
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'w1' } } });
    await simRequest(sut, 'PATCH', `${CM}/w1`, {
      body: { data: { a: '1' } },
      contentType: 'application/merge-patch+json',
    });
    await simRequest(sut, 'DELETE', `${CM}/w1`);
    const { status, events } = await simWatch(
      sut,
      `${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      (e) => e.length >= 3,
    );
    expect(status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events[0].object).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs[2]).toBeGreaterThan(rvs[1]);
    expect(rvs[1]).toBeGreaterThan(rvs[0]);
  });

  it('answers a too-old resourceVersion with one ERROR event (410 Expired) in a 200 stream', async () => {
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'w2' } } });
    sut.compactHistory();
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'w3' } } });
    const { status, events } = await simWatch(sut, `${CM}?watch=true&resourceVersion=1`);
    expect(status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('ERROR');
    expect(events[0].object).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
    });
    expect(str(events[0].object.message)).toMatch(/^too old resource version: 1 \(\d+\)$/);
  });

  it('sends synthetic ADDED events without a resourceVersion and ends cleanly on timeoutSeconds', async () => {
    const started = Date.now();
    const { events } = await simWatch(
      sut,
      `${CM}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dw3`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(events.map((e) => `${e.type}:${str(e.object.metadata.name)}`)).toEqual(['ADDED:w3']);
  });

  it('sends BOOKMARK events only to watchers that asked', async () => {
    const asked = await simWatch(
      sut,
      `${CM}?watch=true&allowWatchBookmarks=true&resourceVersion=${sut.engine.resourceVersion}`,
      (e) => e.some((x) => x.type === 'BOOKMARK'),
    );
    const bookmark = asked.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: str(sut.engine.resourceVersion) },
    });
    const silent = await simWatch(
      sut,
      `${CM}?watch=true&timeoutSeconds=1&resourceVersion=${sut.engine.resourceVersion}`,
    );
    expect(silent.events).toEqual([]);
  });

  it('turns selector transitions into ADDED / DELETED', async () => {
    const from = sut.engine.resourceVersion;
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'sel' } } });
    await simRequest(sut, 'PATCH', `${CM}/sel`, {
      body: { metadata: { labels: { pick: 'yes' } } },
      contentType: 'application/merge-patch+json',
    });
    await simRequest(sut, 'PATCH', `${CM}/sel`, {
      body: { data: { a: '1' } },
      contentType: 'application/merge-patch+json',
    });
    await simRequest(sut, 'PATCH', `${CM}/sel`, {
      body: { metadata: { labels: null } },
      contentType: 'application/merge-patch+json',
    });
    const { events } = await simWatch(
      sut,
      `${CM}?watch=true&labelSelector=pick%3Dyes&resourceVersion=${from}`,
      (e) => e.length >= 3,
    );
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  });

  it('rejects sendInitialEvents like a server without the WatchList feature', async () => {
    const res = await simRequest(
      sut,
      'GET',
      `${CM}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`,
    );
    expect(res.status).toBe(422);
    expect(res.body.message).toContain(
      'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
    );
  });

  it('ends watches early when the closeWatchesAfterMs fault is set', async () => {
    await sut.faults.set({ closeWatchesAfterMs: 100 });
    const started = Date.now();
    await simWatch(
      sut,
      `${CM}?watch=true&timeoutSeconds=30&resourceVersion=${sut.engine.resourceVersion}`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await sut.faults.clear();
  });
});
