import type { KubeObject } from 'src/common/kube/kube-object';

export type { KubeObject, KubeObjectMeta } from 'src/common/kube/kube-object';

export type RenderKind = 'plain' | 'kustomize' | 'helm';

/** Helm-specific part of a release spec. All paths are relative to the artifact root. */
export interface HelmRenderSpec {
  /** Chart directory or chart archive (`.tgz`) inside the artifact; defaults to the release `path`. */
  chartPath?: string;
  /**
   * Values files merged in order after the chart defaults: paths inside the artifact, or
   * inside the chart when the artifact is nothing but the chart archive (a chart of a
   * Helm repository source).
   */
  valuesFiles?: readonly string[];
  /** Inline values, merged last (they win over values files). */
  values?: Readonly<Record<string, unknown>>;
  /** Helm release name (`.Release.Name`). */
  releaseName: string;
  /** Helm namespace (`.Release.Namespace`); defaults to the target namespace. */
  namespace?: string;
}

/** What to render, taken from the Release. */
export interface ReleaseRenderSpec {
  /** Directory inside the artifact (`.` or empty for the root). */
  path: string;
  /** Omitted: `kustomize` when the path holds a kustomization file, else `plain`. */
  kind?: RenderKind;
  /** Required when kind is `helm`. */
  helm?: HelmRenderSpec;
  /** Release variables for `${var}` substitution; names `[A-Za-z_][A-Za-z0-9_]*`. */
  variables?: Readonly<Record<string, string>>;
}

/** Facts about the Target (one release on one cluster). */
export interface TargetFacts {
  clusterName: string;
  clusterLabels: Readonly<Record<string, string>>;
  /** Kubernetes version of the cluster, e.g. `1.34.0` or `v1.34.0`. */
  kubernetesVersion: string;
  /** API versions served by the cluster (`apps/v1`, `cert-manager.io/v1`, ...), for Helm capabilities. */
  apiVersions: readonly string[];
  targetNamespace: string;
  tenant: string;
}

export interface RenderRequest {
  /** Root of the fetched artifact (Git checkout or unpacked chart). Read only. */
  artifactRoot: string;
  release: ReleaseRenderSpec;
  target: TargetFacts;
  /** Aborts the render (kills a running child process). */
  signal?: AbortSignal;
}

export interface RenderStats {
  objects: number;
  /** Bytes of rendered manifest text after substitution. */
  bytes: number;
  durationMs: number;
}

export interface RenderResult {
  /** The rendered objects in render order (before policy defaulting and labels). */
  objects: KubeObject[];
  /** `sha256:<hex>` over the canonical JSON of the objects, in order. */
  digest: string;
  kind: RenderKind;
  stats: RenderStats;
}
