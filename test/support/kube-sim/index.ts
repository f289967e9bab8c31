import type { ClusterOptions } from 'test/support/kube-sim/cluster';
import { SimCluster } from 'test/support/kube-sim/cluster';

export type {
  ClusterOptions,
  Counters,
  Faults,
  Identity,
  KubeconfigOptions,
  RequestLogEntry,
} from 'test/support/kube-sim/cluster';
export { SimCluster } from 'test/support/kube-sim/cluster';
export { ANNOTATIONS } from 'test/support/kube-sim/controllers';
export { registerConverter } from 'test/support/kube-sim/engine';
export { installClusterApiCrd, CLUSTER_API_CRD } from 'test/support/kube-sim/cluster-api';
export type { KubeObject } from 'test/support/kube-sim/types';

export interface AddClusterOptions extends ClusterOptions {
  name?: string;
}

/** A process-wide simulator hosting many virtual Kubernetes clusters, one HTTPS port each. */
export class KubeSim {
  private readonly clusters = new Map<string, SimCluster>();
  private counter = 0;

  private constructor(private readonly defaults: ClusterOptions) {}

  static start(defaults: ClusterOptions = {}): Promise<KubeSim> {
    return Promise.resolve(new KubeSim(defaults));
  }

  async addCluster(opts: AddClusterOptions = {}): Promise<SimCluster> {
    this.counter += 1;
    const name = opts.name ?? `cluster-${this.counter}`;
    if (this.clusters.has(name)) {
      throw new Error(`kube-sim: cluster ${name} already exists`);
    }
    const c = await SimCluster.create(name, { ...this.defaults, ...opts });
    this.clusters.set(name, c);
    return c;
  }

  /** Adds `count` clusters named `<prefix>-<i>` with bounded concurrency. */
  async addClusters(count: number, prefix = 'cluster', concurrency = 32): Promise<SimCluster[]> {
    const out: SimCluster[] = new Array<SimCluster>(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        out[i] = await this.addCluster({ name: `${prefix}-${i + 1}` });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return out;
  }

  cluster(name: string): SimCluster | undefined {
    return this.clusters.get(name);
  }

  list(): SimCluster[] {
    return [...this.clusters.values()];
  }

  async removeCluster(name: string): Promise<void> {
    const c = this.clusters.get(name);
    this.clusters.delete(name);
    await c?.stop();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.stop()));
    this.clusters.clear();
  }
}
