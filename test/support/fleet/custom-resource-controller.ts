import type { SimCluster } from 'test/support/kube-sim';
import { simRequest } from 'test/support/kube-sim/http-client';

type Obj = Record<string, any>;

/** What the controller reports for one object: its conditions (observedGeneration is always set). */
export type ConditionsFor = (
  obj: Obj,
) => { type: string; status: string; reason: string; message: string }[];

const readyConditions: ConditionsFor = () => [
  { type: 'Ready', status: 'True', reason: 'Ready', message: 'Reconciled by the test controller' },
];

/**
 * Plays the controller of one custom resource in a test cluster, over the
 * cluster's HTTP API as a real controller would: it polls the resource's list
 * and writes, through the status subresource, `status.observedGeneration` and
 * the conditions `conditionsFor` answers, whenever the generation is new or
 * the answer changed. Started and stopped by the test.
 */
export class CustomResourceController {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Status writes made, for assertions. */
  writes = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly resource: { group: string; version: string; plural: string },
    public conditionsFor: ConditionsFor = readyConditions,
    private readonly pollMs = 150,
  ) {}

  start(): this {
    this.timer ??= setInterval(() => void this.tick(), this.pollMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      return;
    }
    this.ticking = true;
    try {
      const { group, version, plural } = this.resource;
      const list = await simRequest(this.cluster, 'GET', `/apis/${group}/${version}/${plural}`);
      if (list.status !== 200) {
        return; // The CRD is not served (yet).
      }
      for (const item of (list.body.items as unknown as Obj[] | undefined) ?? []) {
        await this.observe(item);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async observe(item: Obj): Promise<void> {
    const generation = item.metadata.generation as number;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const previous = (item.status?.conditions as Obj[] | undefined) ?? [];
    const conditions = this.conditionsFor(item).map((c) => ({
      ...c,
      observedGeneration: generation,
      lastTransitionTime:
        previous.find((p) => p.type === c.type && p.status === c.status)?.lastTransitionTime ?? now,
    }));
    const unchanged =
      item.status?.observedGeneration === generation &&
      JSON.stringify(previous.map(({ lastTransitionTime: _, ...c }) => c)) ===
        JSON.stringify(conditions.map(({ lastTransitionTime: _, ...c }) => c));
    if (unchanged) {
      return;
    }
    const { group, version, plural } = this.resource;
    const { namespace, name } = item.metadata as { namespace: string; name: string };
    // PUT with the resourceVersion read: a concurrent write makes it 409 and the next poll retries.
    const res = await simRequest(
      this.cluster,
      'PUT',
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}/${name}/status`,
      { body: { ...item, status: { ...item.status, observedGeneration: generation, conditions } } },
    );
    if (res.status === 200) {
      this.writes++;
    }
  }
}
