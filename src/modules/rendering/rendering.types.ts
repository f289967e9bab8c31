import type { KubeObject } from 'src/common/kube/kube-object';

export type { KubeObject, KubeObjectMeta } from 'src/common/kube/kube-object';

export type RenderKind = 'plain' | 'kustomize' | 'helm';

/**
 * Set on every object of a chart's `crds/` directory (and its subcharts'): the prune step
 * reads it on the live object and never deletes the object (Helm never deletes crds/).
 * Same key and value as a user's own per-object opt-out.
 */
export const PRUNE_ANNOTATION = 'gitfleet.dev/prune';
export const PRUNE_DISABLED = 'disabled';
/** Marks an object as coming from a chart's `crds/` directory, for the apply step's policy. */
export const HELM_CRD_ANNOTATION = 'gitfleet.dev/helm-crd';
export const HELM_CRD_FROM_CRDS_DIR = 'crds';

/** Helm-specific part of a release spec. All paths are relative to the artifact root. */
export interface HelmRenderSpec {
  /** Chart directory or chart archive (`.tgz`) inside the artifact; defaults to the release `path`. */
  chartPath?: string;
  /**
   * True for a chart of a Helm repository source: `chartPath` is then the chart archive
   * and `valuesFiles` are paths inside the chart (as with Flux's valuesFiles of a
   * HelmRepository chart). Omitted or false: a chart in a Git source, values files are
   * paths in the artifact. Stated by the producer, never guessed from the artifact.
   */
  fromHelmRepository?: boolean;
  /**
   * Values files merged in order after the chart defaults: paths inside the chart when
   * `fromHelmRepository`, else inside the artifact.
   */
  valuesFiles?: readonly string[];
  /** Inline values, merged last (they win over values files). */
  values?: Readonly<Record<string, unknown>>;
  /** Helm release name (`.Release.Name`). */
  releaseName: string;
  /** Helm namespace (`.Release.Namespace`); defaults to the target namespace. */
  namespace?: string;
  /**
   * Render the chart's test hooks too (Flux HelmRelease `spec.test.enable`); omitted or
   * false: `helm template --skip-tests`, as nothing would run them.
   */
  includeTests?: boolean;
}

/** What to render, taken from the Release. */
export interface ReleaseRenderSpec {
  /** Directory inside the artifact (`.` or empty for the root). */
  path: string;
  /** Omitted: `kustomize` when the path holds a kustomization file, else `plain`. */
  kind?: RenderKind;
  /** Required when kind is `helm`. */
  helm?: HelmRenderSpec;
  /**
   * Flux-style post-build substitution. Omitted: the output is taken literally,
   * every `${...}` stays (as a Flux Kustomization without `spec.postBuild`).
   */
  postBuild?: PostBuildRenderSpec;
  /** Flux-style Kustomize overlay over a plain or Kustomize path; refused for Helm. */
  kustomize?: KustomizeOverlay;
  /** Helm release name for a chart detected by its Chart.yaml when no `helm` spec is given. */
  releaseName?: string;
}

/** The resolved inputs of `${var}` substitution for one Target. */
export interface PostBuildRenderSpec {
  /**
   * substituteFrom values merged in order, then inline `substitute` on top (Flux's
   * precedence); built-ins are added by the render. Names `[A-Za-z_][A-Za-z0-9_]*`.
   */
  variables: Readonly<Record<string, string>>;
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

/** One Chart.yaml dependency to fetch: an `https://` Helm repository or `oci://` registry. */
export interface ChartDependencyRequest {
  readonly name: string;
  /** Repository URL exactly as Chart.yaml / Chart.lock state it. */
  readonly repository: string;
  /** The version Chart.lock pins, else the Chart.yaml version (range). */
  readonly version: string;
  readonly signal?: AbortSignal;
}

/** Fetches a chart dependency; answers its local verified archive and exact version. */
export type ChartDependencyFetcher = (
  request: ChartDependencyRequest,
) => Promise<{ archivePath: string; version: string }>;

export interface RenderRequest {
  /** Root of the fetched artifact (Git checkout or unpacked chart). Read only. */
  artifactRoot: string;
  release: ReleaseRenderSpec;
  target: TargetFacts;
  /** Aborts the render (kills a running child process). */
  signal?: AbortSignal;
  /** Fetches chart dependencies missing from `charts/`; without it they fail the render. */
  fetchChartDependency?: ChartDependencyFetcher;
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

/** Flux Kustomization `spec.patches[].target`: kustomize's patch selector. */
export interface KustomizePatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  /** A regular expression, as in kustomize. */
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

/** One Flux `spec.patches` entry: a strategic-merge patch or a JSON 6902 list, as YAML or JSON text. */
export interface KustomizePatch {
  patch: string;
  target?: KustomizePatchTarget;
}

/** One Flux `spec.images` entry (kustomize's images transformer). */
export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/**
 * The Kustomize fields of a Flux Kustomization spec, applied over the release path:
 * patches, images, namePrefix/nameSuffix and components are written into the path's
 * kustomization file (generated when the path has none); commonMetadata is set on
 * every rendered object afterwards.
 */
export interface KustomizeOverlay {
  patches?: KustomizePatch[];
  images?: KustomizeImage[];
  namePrefix?: string;
  nameSuffix?: string;
  commonMetadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  /** Kustomize components, relative to the release path. */
  components?: string[];
}
