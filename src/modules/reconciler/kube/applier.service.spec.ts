import { describe, expect, it } from 'vitest';
import { Applier } from './applier.service';
import { HealthChecker } from './health-checker.service';
import type { ApplyPatchOptions, KubeApi, ResourceInfo } from 'src/common/kube/kube-api.client';
import { KubeClock } from './kube-clock';
import { KubeError } from 'src/common/kube/kube.errors';
import { refKey, refOf, splitApiVersion } from './kube-objects';
import { LiveReader } from './live-reader';
import type { KubeObject, ObjectRef } from './kube.types';

class FakeClock extends KubeClock {
  t = 0;
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.t += ms;
    return Promise.resolve();
  }
}

/** In-memory cluster: applies replace the object, every call is recorded. */
class FakeKube implements KubeApi {
  readonly store = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  readonly counters = { total: 0, byVerb: {}, writes: 0, dryRun: 0, discovery: 0 };
  failApply?: (obj: KubeObject, opts: ApplyPatchOptions) => KubeError | undefined;
  rv = 1;

  resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const { group, version } = splitApiVersion(apiVersion);
    return Promise.resolve({
      group,
      version,
      kind,
      plural: `${kind.toLowerCase()}s`,
      namespaced: kind !== 'Namespace',
    });
  }
  invalidateDiscovery(): void {}
  get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.calls.push(`get ${ref.name}`);
    return Promise.resolve(this.store.get(refKey(ref)));
  }
  list(): Promise<KubeObject[]> {
    this.calls.push('list');
    return Promise.resolve([...this.store.values()]);
  }
  create(obj: KubeObject): Promise<KubeObject> {
    this.calls.push(`create ${obj.metadata.name ?? ''}`);
    return Promise.reject(new KubeError('Invalid', 'the applier never creates by POST'));
  }
  apply(obj: KubeObject, opts: ApplyPatchOptions): Promise<KubeObject> {
    this.calls.push(`${opts.dryRun === true ? 'dry-run' : 'apply'} ${obj.metadata.name ?? ''}`);
    const err = this.failApply?.(obj, opts);
    if (err) {
      return Promise.reject(err);
    }
    const existing = this.store.get(refKey(refOf(obj)));
    const next = structuredClone(obj);
    next.metadata.resourceVersion =
      opts.dryRun === true ? existing?.metadata.resourceVersion : String(++this.rv);
    if (opts.dryRun !== true) {
      this.store.set(refKey(refOf(obj)), next);
    }
    return Promise.resolve(next);
  }
  delete(ref: ObjectRef): Promise<boolean> {
    this.calls.push(`delete ${ref.name}`);
    return Promise.resolve(this.store.delete(refKey(ref)));
  }
}

const owner = { tenant: 't', release: 'r' };
const cm = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns' },
  data: { k: 'v' },
});

function setup(): { sut: Applier; kube: FakeKube; clock: FakeClock } {
  const clock = new FakeClock();
  return { sut: new Applier(clock, new LiveReader()), kube: new FakeKube(), clock };
}

describe('Applier', () => {
  it('dry-runs everything before the first write', async () => {
    const { sut, kube } = setup();
    const result = await sut.apply(kube, [cm('a'), cm('b')], { owner });
    expect(result.ok).toBe(true);
    expect(kube.calls).toEqual(['dry-run a', 'dry-run b', 'apply a', 'apply b']);
  });

  it('asks beforeWrite after the dry-runs, telling which objects exist, and writes nothing when it refuses', async () => {
    const { sut, kube } = setup();
    kube.store.set(refKey(refOf(cm('b'))), {
      ...cm('b'),
      metadata: { ...cm('b').metadata, resourceVersion: '1' },
    });
    const asked: { name: string; exists: boolean }[] = [];

    await expect(
      sut.apply(kube, [cm('a'), cm('b')], {
        owner,
        beforeWrite: (candidates) => {
          asked.push(...candidates.map((c) => ({ name: c.ref.name, exists: c.exists })));
          kube.calls.push('beforeWrite');
          return Promise.reject(new Error('refused'));
        },
      }),
    ).rejects.toThrow('refused');

    expect(asked).toEqual([
      { name: 'a', exists: false },
      { name: 'b', exists: true },
    ]);
    expect(kube.calls).toEqual(['dry-run a', 'dry-run b', 'beforeWrite']);
  });

  it('writes nothing when the cluster fails during validation and reports the cluster error', async () => {
    const { sut, kube } = setup();
    kube.failApply = (o) =>
      o.metadata.name === 'b'
        ? new KubeError('RateLimited', 'slow down', { retryAfterMs: 2000 })
        : undefined;
    const result = await sut.apply(kube, [cm('a'), cm('b'), cm('c')], { owner, concurrency: 1 });
    expect(result.ok).toBe(false);
    expect(result.failedPhase).toBe('validation');
    expect(result.clusterError?.retryAfterMs).toBe(2000);
    expect(kube.calls.filter((c) => c.startsWith('apply'))).toEqual([]);
    expect(kube.calls).not.toContain('dry-run c');
  });

  it('refuses duplicate objects before any request', async () => {
    const { sut, kube } = setup();
    const result = await sut.apply(kube, [cm('a'), cm('a')], { owner });
    expect(result.errors[0].message).toContain('duplicate object ConfigMap/ns/a');
    expect(kube.calls).toEqual([]);
  });

  it('redacts Secret values echoed by validation errors', async () => {
    const { sut, kube } = setup();
    kube.failApply = () =>
      new KubeError('Invalid', 'Secret "s" is invalid: data[x]: Invalid value: "c3VwZXJzZWNyZXQ="');
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns' },
      data: { x: 'c3VwZXJzZWNyZXQ=' },
    };
    const result = await sut.apply(kube, [secret], { owner });
    expect(result.errors[0].message).not.toContain('c3VwZXJzZWNyZXQ=');
  });

  describe('Secret values in error messages', () => {
    const password = 'hunter2-SuperSecret';
    const token = 'token-from-data';
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'ns' },
      data: { token: Buffer.from(token).toString('base64') },
      stringData: { password, pin: '123' },
    };

    it('redacts any Secret of the set, raw and decoded, from an error about another object', async () => {
      const { sut, kube } = setup();
      const echoed = `${password} ${token} ${Buffer.from(token).toString('base64')}`;
      kube.failApply = (o) =>
        o.metadata.name === 'app'
          ? new KubeError('Invalid', `admission webhook "check.example.com" denied: saw ${echoed}`)
          : undefined;
      const result = await sut.apply(kube, [secret, cm('app')], { owner });
      expect(result.ok).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ ref: { kind: 'ConfigMap', name: 'app' } });
      expect(result.errors[0].message).toBe(
        'admission webhook "check.example.com" denied: saw [redacted] [redacted] [redacted]',
      );
    });

    it('keeps short values, so messages stay readable', async () => {
      const { sut, kube } = setup();
      kube.failApply = (o) =>
        o.metadata.name === 'app' ? new KubeError('Invalid', 'pin 123 refused') : undefined;
      const result = await sut.apply(kube, [secret, cm('app')], { owner });
      expect(result.errors[0].message).toBe('pin 123 refused');
    });

    it('redacts the cluster error the caller reports, and its stack', async () => {
      const { sut, kube } = setup();
      kube.failApply = (o) =>
        o.metadata.name === 'db'
          ? new KubeError('ServerError', `Internal error: failed to store ${password}`)
          : undefined;
      const result = await sut.apply(kube, [secret], { owner });
      expect(result.clusterError?.code).toBe('ServerError');
      expect(result.clusterError?.message).toBe('Internal error: failed to store [redacted]');
      expect(result.clusterError?.stack).not.toContain(password);
      expect(result.errors[0].message).toBe('Internal error: failed to store [redacted]');
    });

    it('changes nothing but the Invalid value pattern when the set holds no Secret', async () => {
      const { sut, kube } = setup();
      kube.failApply = () =>
        new KubeError('Invalid', `spec.x: Invalid value: "v" near ${password}`);
      const result = await sut.apply(kube, [cm('app')], { owner });
      expect(result.errors[0].message).toBe(`spec.x: Invalid value: "<redacted>" near ${password}`);
    });
  });

  it('stops with the establish phase when a CRD never becomes Established, before the rest', async () => {
    const { sut, kube, clock } = setup();
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'ws.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'W', plural: 'ws' },
        versions: [{ name: 'v1' }],
      },
    };
    const result = await sut.apply(kube, [crd, cm('a')], { owner, establishTimeoutMs: 5_000 });
    expect(result.failedPhase).toBe('establish');
    expect(result.errors[0]).toMatchObject({ code: 'Timeout', ref: { name: 'ws.example.com' } });
    expect(kube.calls).not.toContain('apply a');
    expect(clock.t).toBeGreaterThanOrEqual(5_000);
  });

  it('skips unchanged objects without dry-run when hash and resourceVersion match', async () => {
    const { sut, kube } = setup();
    const first = await sut.apply(kube, [cm('a'), cm('b')], { owner });
    kube.calls.length = 0;
    const previous = first.objects.map((o) => ({
      ...o.ref,
      appliedHash: o.hash,
      resourceVersion: o.resourceVersion,
    }));
    const again = await sut.apply(kube, [cm('a'), cm('b')], { owner, previous });
    expect(again.counts.unchanged).toBe(2);
    expect(kube.calls).toEqual(['list']);
  });
});

describe('HealthChecker', () => {
  it('polls with backoff until the deadline and names what is not Current', async () => {
    const clock = new FakeClock();
    const kube = new FakeKube();
    const sut = new HealthChecker(clock);
    const dep: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'ns' },
      spec: {},
      status: {},
    };
    kube.store.set(refKey(refOf(dep)), dep);
    kube.store.set(refKey(refOf(cm('a'))), cm('a'));
    const result = await sut.waitForHealthy(kube, [dep, cm('a')], { timeoutMs: 10_000 });
    expect(result.timedOut).toBe(true);
    expect(result.failing.map((f) => f.ref.name)).toEqual(['d']);
    expect(result.polls).toBeLessThanOrEqual(10);
    expect(kube.calls.filter((c) => c === 'get a')).toHaveLength(1);
  });

  it('reports NotFound objects as failing', async () => {
    const sut = new HealthChecker(new FakeClock());
    const result = await sut.waitForHealthy(new FakeKube(), [cm('missing')], { timeoutMs: 1_000 });
    expect(result.failing[0]).toMatchObject({ status: 'NotFound' });
  });
});
