import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { mockOf } from 'test/support/mocks/automock';
import { HealthChecker } from './health-checker.service';
import { KubeClock } from './kube-clock';
import type { KubeObject, ObjectHealth } from './kube.types';
import { HealthRules, NOT_OBSERVED_GRACE_MS } from './object-health';

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

const certificate = (status: Record<string, unknown> | undefined, generation = 1): KubeObject => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'web', namespace: 'apps', generation },
  ...(status === undefined ? {} : { status }),
});
const at = (waitingForMs: number) => ({ now: 0, waitingForMs, graceMs: NOT_OBSERVED_GRACE_MS });
const notObserved =
  'Certificate/web has not been observed by a controller: status.observedGeneration -1 < generation 1; is its controller installed?';

describe(HealthRules.name, () => {
  it('waits for an unobserved custom resource during the grace, then names the cause', () => {
    const sut = new HealthRules();
    const unobserved = certificate({ observedGeneration: -1 });
    expect(sut.assess(unobserved, at(NOT_OBSERVED_GRACE_MS - 1)).status).toBe('InProgress');
    expect(sut.assess(unobserved, at(NOT_OBSERVED_GRACE_MS))).toEqual({
      status: 'Failed',
      reason: 'NotObserved',
      message: notObserved,
    });
  });

  it('waits for a first status when the CRD has a status subresource, then names the cause', () => {
    const sut = new HealthRules();
    const bare = certificate(undefined);
    const expected = { ...at(NOT_OBSERVED_GRACE_MS), statusExpected: true };
    expect(sut.assess(bare, { ...expected, waitingForMs: 0 }).status).toBe('InProgress');
    expect(sut.assess({ ...bare, status: {} }, expected)).toMatchObject({
      status: 'Failed',
      reason: 'NotObserved',
    });
    expect(sut.assess(bare, expected).message).toBe(
      'Certificate/web has not been observed by a controller: no status after 10s although its CRD has a status subresource; is its controller installed?',
    );
    // Without a status subresource (config-only kinds), kstatus' Current stands.
    expect(sut.assess(bare, at(NOT_OBSERVED_GRACE_MS)).status).toBe('Current');
  });

  it('never calls built-in kinds unobserved: their controllers ship with the cluster', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', generation: 2 },
      status: { observedGeneration: 1 },
    };
    expect(new HealthRules().assess(deployment, at(60_000)).status).toBe('InProgress');
  });

  it('keeps kstatus for a custom resource observed by its controller', () => {
    const sut = new HealthRules();
    const ready = certificate({
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', message: 'issued' }],
    });
    expect(sut.assess(ready, at(60_000))).toEqual({
      status: 'Current',
      message: 'Resource is Ready: issued',
    });
    expect(sut.assess(certificate(undefined), at(60_000)).status).toBe('Current');
  });

  it('uses the first healthCheckExprs entry of a group/kind, any version, instead of kstatus', () => {
    const sut = new HealthRules([
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        current: 'false',
        failed: 'status.bad == true',
      },
      { apiVersion: 'cert-manager.io/v1beta1', kind: 'Certificate', current: 'true' },
    ]);
    const obj = {
      ...certificate({ observedGeneration: 1, bad: true }),
      apiVersion: 'cert-manager.io/v2',
    };
    expect(sut.assess(obj, at(0))).toEqual({
      status: 'Failed',
      message: 'healthCheckExprs failed "status.bad == true" is true',
    });
  });

  it('holds the expressions until the generation is observed, as Flux does', () => {
    const sut = new HealthRules([
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', current: 'true' },
    ]);
    expect(sut.assess(certificate({ observedGeneration: 1 }, 2), at(0)).status).toBe('InProgress');
    expect(sut.assess(certificate({ observedGeneration: 2 }, 2), at(0)).status).toBe('Current');
  });
});

describe(HealthChecker.name, () => {
  it('stops soon after the grace with NotObserved instead of waiting for the timeout', async () => {
    const clock = new FakeClock();
    const api = mockOf<KubeApi>();
    api.get.mockResolvedValue(certificate({ observedGeneration: -1 }));
    const sut = new HealthChecker(clock);

    const result = await sut.waitForHealthy(api, [certificate({ observedGeneration: -1 })], {
      timeoutMs: 300_000,
    });

    expect(result.timedOut).toBe(false);
    expect(result.failing).toMatchObject([
      { status: 'Failed', reason: 'NotObserved', message: notObserved },
    ]);
    expect(clock.t).toBeGreaterThanOrEqual(NOT_OBSERVED_GRACE_MS);
    expect(clock.t).toBeLessThan(NOT_OBSERVED_GRACE_MS + 2_500);
  });

  it("reads the CRD once to learn whether a status is expected, with gitfleet's identity", async () => {
    const clock = new FakeClock();
    const api = mockOf<KubeApi>();
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'certificates.cert-manager.io' },
      spec: { versions: [{ name: 'v1', subresources: { status: {} } }] },
    };
    api.resource.mockResolvedValue({
      group: 'cert-manager.io',
      version: 'v1',
      kind: 'Certificate',
      plural: 'certificates',
      namespaced: true,
    });
    api.get.mockImplementation((ref) =>
      Promise.resolve(ref.kind === 'CustomResourceDefinition' ? crd : certificate(undefined)),
    );
    const sut = new HealthChecker(clock);

    const result = await sut.waitForHealthy(api, [certificate(undefined)], { timeoutMs: 300_000 });

    expect(result.failing).toMatchObject([{ status: 'Failed', reason: 'NotObserved' }]);
    const crdReads = api.get.mock.calls.filter(([ref]) => ref.kind === 'CustomResourceDefinition');
    expect(crdReads).toEqual([
      [
        {
          group: 'apiextensions.k8s.io',
          version: 'v1',
          kind: 'CustomResourceDefinition',
          name: 'certificates.cert-manager.io',
        },
        { signal: undefined },
      ],
    ]);
  });

  it('reports nothing for a wait shorter than progressAfterMs, and the set once it lasts longer', async () => {
    const clock = new FakeClock();
    const api = mockOf<KubeApi>();
    const notReady = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False' }] };
    const ready = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] };
    const readyAfter = (ms: number) =>
      api.get.mockImplementation(() =>
        Promise.resolve(certificate(clock.now() >= ms ? ready : notReady)),
      );
    const sut = new HealthChecker(clock);
    const wait = async (): Promise<number[]> => {
      const reportedAt: number[] = [];
      clock.t = 0;
      await sut.waitForHealthy(api, [certificate(notReady)], {
        timeoutMs: 60_000,
        progressAfterMs: 2_000,
        onPending: () => {
          reportedAt.push(clock.now());
          return Promise.resolve();
        },
      });
      return reportedAt;
    };

    readyAfter(1_000);
    expect(await wait()).toEqual([]);

    readyAfter(10_000);
    const reportedAt = await wait();
    expect(reportedAt).toHaveLength(1);
    expect(reportedAt[0]).toBeGreaterThanOrEqual(2_000);
    expect(reportedAt[0]).toBeLessThan(10_000);
  });

  it('reports the objects still waited for when the wait starts and when the set changes', async () => {
    const clock = new FakeClock();
    const api = mockOf<KubeApi>();
    const ready = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] };
    const notReady = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False' }] };
    const a = {
      ...certificate(notReady),
      metadata: { name: 'a', namespace: 'apps', generation: 1 },
    };
    const b = {
      ...certificate(notReady),
      metadata: { name: 'b', namespace: 'apps', generation: 1 },
    };
    let reads = 0;
    api.get.mockImplementation((ref) => {
      reads++;
      const readyNow = ref.name === 'a' ? reads > 2 : reads > 6;
      return Promise.resolve({
        ...(ref.name === 'a' ? a : b),
        status: readyNow ? ready : notReady,
      });
    });
    const seen: string[][] = [];
    const sut = new HealthChecker(clock);

    const result = await sut.waitForHealthy(api, [a, b], {
      timeoutMs: 60_000,
      onPending: (pending: readonly ObjectHealth[]) => {
        seen.push(pending.map((p) => p.ref.name));
        return Promise.resolve();
      },
    });

    expect(result.healthy).toBe(true);
    expect(seen).toEqual([['a', 'b'], ['b']]);
  });
});
