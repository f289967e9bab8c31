import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import {
  checkRelativePath,
  copyArtifact,
  listManifestFiles,
  readCapped,
  realArtifactRoot,
  refuseEscapingSymlinksUnder,
  resolveInArtifact,
} from './artifact-fs';
import { checkChartArchive, readChartFiles } from './chart-archive';
import { checkKustomization, findKustomizationFile } from './kustomize-check';
import {
  applyOverlay,
  generatedKustomization,
  overlayNeedsKustomize,
  setCommonMetadata,
} from './kustomize-overlay';
import { detectChartDirectory, markChartCrds } from './helm-crds';
import { placeChartDependencies } from './helm-dependencies';
import { ManifestCollector } from './manifest-parser';
import { refuseChartAs, unsupportedFormatIn } from './format-check';
import { type RunResult, ToolRunner } from './tool-runner';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import { RENDERING_OPTIONS, type RenderingOptions } from './rendering.options';
import { collectRenderSecrets, type SecretRedactor } from './secret-redaction';
import type {
  KubeObject,
  KustomizeOverlay,
  RenderKind,
  RenderRequest,
  RenderResult,
  TargetFacts,
} from './rendering.types';
import { buildVariables } from './variables';
import { isDnsLabel } from 'src/common/validation/names';

// A port nothing listens on: any HTTP(S) fetch by a tool fails at once.
const DEAD_PROXY = 'http://127.0.0.1:9';
const KUBE_VERSION = /^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]*)?$/;
const API_VERSION = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/[a-z0-9]+)?(\/[A-Za-z0-9]+)?$/;
const HELM_RELEASE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_TOOL_MESSAGE = 2_000;

/** What a render had resolved when it failed: where its sensitive values may come from. */
interface FailureScope {
  artifactRoot?: string;
  scanDir?: string;
  valuesFiles: string[];
  /** Values files read out of a chart archive. */
  valuesTexts: string[];
}

/**
 * A tool's non-zero exit with its raw output. Never leaves `render`: it is
 * turned into a RenderingError whose message is scrubbed of Secret values.
 */
class ToolFailure extends RenderingError {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly output: string,
    readonly truncated: boolean,
  ) {
    super(RenderingErrorCode.RenderFailed, `${tool} failed (exit ${exitCode ?? 'signal'})`);
  }
}

/** JSON with object keys sorted, so equal objects give equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
          a < b ? -1 : a > b ? 1 : 0,
        ),
      );
    }
    return v;
  });
}

/** `sha256:<hex>` over the canonical JSON of each object, one per line, in order. */
export function digestObjects(objects: readonly KubeObject[]): string {
  const hash = createHash('sha256');
  for (const object of objects) {
    hash.update(canonicalJson(object));
    hash.update('\n');
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Turns an artifact directory into a list of Kubernetes objects for one Target:
 * plain YAML/JSON, Kustomize (kubectl kustomize) or Helm (helm template), then
 * `${var}` substitution when the release has a postBuild, and caps. Pure: no database, no cluster access. Every
 * render works in its own temp dir, removed on every path.
 */
@Injectable()
export class RenderingService {
  constructor(
    @Inject(RENDERING_OPTIONS) private readonly options: RenderingOptions,
    private readonly runner: ToolRunner,
  ) {}

  /**
   * True when `path` of the artifact holds a Chart.yaml, so a render without a kind may be
   * Helm (and sees every target fact). Never throws: a bad path just is not a chart.
   */
  async detectsChart(artifactRoot: string, path: string): Promise<boolean> {
    try {
      const realRoot = await realArtifactRoot(artifactRoot);
      return await detectChartDirectory(
        await resolveInArtifact(realRoot, checkRelativePath(path, 'path'), 'path'),
      );
    } catch {
      return false;
    }
  }

  /**
   * Every RenderingError leaving here is scrubbed of the Secret values and Helm
   * values the render could read (tools quote file lines and values in errors).
   */
  async render(request: RenderRequest): Promise<RenderResult> {
    const scope: FailureScope = { valuesFiles: [], valuesTexts: [] };
    try {
      return await this.renderUnscrubbed(request, scope);
    } catch (error) {
      throw await this.scrubbed(error, request, scope);
    }
  }

  private async renderUnscrubbed(
    request: RenderRequest,
    scope: FailureScope,
  ): Promise<RenderResult> {
    const started = performance.now();
    // Opt-in, as Flux's spec.postBuild: without it every `${...}` stays literal.
    const postBuild = request.release.postBuild;
    const collector = new ManifestCollector(
      this.options,
      postBuild === undefined
        ? undefined
        : {
            vars: buildVariables(request.target, postBuild.variables),
            strict: this.options.strictPostBuildSubstitutions,
          },
    );
    const realRoot = await realArtifactRoot(request.artifactRoot);
    // Kustomize bases and chart files may lie anywhere in the artifact.
    scope.artifactRoot = realRoot;
    scope.scanDir = realRoot;
    const relPath = checkRelativePath(request.release.path, 'path');
    const renderDir = await resolveInArtifact(realRoot, relPath, 'path');
    const kind = await this.detectKind(request.release.kind, renderDir);
    if (kind === 'plain') {
      scope.scanDir = renderDir;
    }
    const overlay = request.release.kustomize;
    if (overlay !== undefined && kind === 'helm') {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        `path "${relPath || '.'}" renders with Helm; kustomize overlays apply to plain manifests and Kustomize paths only`,
      );
    }
    const overlayBuild = overlay !== undefined && overlayNeedsKustomize(overlay);

    const tempDir = await mkdtemp(join(this.options.tempRoot, 'gitfleet-render-'));
    try {
      switch (kind) {
        case 'plain':
          if (overlayBuild) {
            // Flux's rule: a path without a kustomization gets one listing its manifests,
            // the overlay is written into it, and kustomize builds it.
            await this.renderKustomize(request, realRoot, relPath, tempDir, collector, {
              generateFrom: renderDir,
            });
          } else {
            // An explicit `kind: plain` renders a chart directory's files as they are.
            await this.renderPlain(realRoot, renderDir, collector);
          }
          if (collector.objects.length === 0) {
            const unsupported = await unsupportedFormatIn(renderDir, relPath);
            if (unsupported !== undefined) {
              throw new RenderingError(RenderingErrorCode.UnsupportedFormat, unsupported);
            }
          }
          break;
        case 'kustomize':
          await this.renderKustomize(request, realRoot, relPath, tempDir, collector, {});
          break;
        case 'helm':
          await this.renderHelm(request, realRoot, tempDir, collector, scope);
          break;
      }
    } finally {
      await rm(tempDir, { recursive: true, force: true, maxRetries: 3 });
    }
    const objects = collector.objects;
    // After the build and the substitution, as Flux sets spec.commonMetadata.
    setCommonMetadata(objects, overlay?.commonMetadata);
    return {
      objects,
      digest: digestObjects(objects),
      kind,
      stats: {
        objects: objects.length,
        bytes: collector.bytes,
        durationMs: Math.round(performance.now() - started),
      },
    };
  }

  private async detectKind(kind: RenderKind | undefined, renderDir: string): Promise<RenderKind> {
    if (kind !== undefined) {
      return kind;
    }
    if (!(await stat(renderDir)).isDirectory()) {
      throw new RenderingError(RenderingErrorCode.InvalidInput, 'path must be a directory');
    }
    // Argo CD's discovery order: a kustomization wins, then Chart.yaml means Helm, else
    // plain files. `kind: plain` forces plain YAML for a directory holding a Chart.yaml.
    if ((await findKustomizationFile(renderDir)) !== undefined) {
      return 'kustomize';
    }
    return (await detectChartDirectory(renderDir)) ? 'helm' : 'plain';
  }

  private async renderPlain(
    realRoot: string,
    renderDir: string,
    collector: ManifestCollector,
  ): Promise<void> {
    if (!(await stat(renderDir)).isDirectory()) {
      throw new RenderingError(RenderingErrorCode.InvalidInput, 'path must be a directory');
    }
    const files = await listManifestFiles(realRoot, renderDir, this.options);
    for (const file of files) {
      const text = await readFile(file.realPath, 'utf8');
      if (file.format === 'json') {
        collector.addJson(text, file.relPath);
      } else {
        collector.addYaml(text, file.relPath);
      }
    }
  }

  private async renderKustomize(
    request: RenderRequest,
    realRoot: string,
    relPath: string,
    tempDir: string,
    collector: ManifestCollector,
    { generateFrom }: { generateFrom?: string },
  ): Promise<void> {
    const copyRoot = join(tempDir, 'src');
    const copy = await copyArtifact(realRoot, copyRoot, this.options);
    refuseEscapingSymlinksUnder(copy, relPath);
    const dir = join(copyRoot, relPath);
    const overlay = request.release.kustomize;
    if (generateFrom !== undefined) {
      const resources = await this.generatedResources(realRoot, generateFrom, relPath, dir);
      await writeKustomization(
        join(dir, 'kustomization.yaml'),
        applyOverlay(generatedKustomization(resources), overlay ?? {}),
      );
    } else {
      const file = await findKustomizationFile(dir);
      if (file === undefined) {
        await refuseChartAs(dir, relPath, 'a Kustomize path');
        throw new RenderingError(
          RenderingErrorCode.InvalidInput,
          `path "${relPath || '.'}" has no kustomization file`,
        );
      }
      if (overlay !== undefined && overlayNeedsKustomize(overlay)) {
        await this.writeOverlay(join(dir, file), `${relPath ? `${relPath}/` : ''}${file}`, overlay);
      }
    }
    await checkKustomization(copyRoot, dir, this.options);
    const result = await this.runner.run({
      tool: 'kustomize',
      command: this.options.kubectlPath,
      // Root-only is kustomize's default; passing it pins it. No --enable-helm,
      // --enable-exec, --enable-alpha-plugins: functions and plugins cannot run.
      args: ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsRootOnly'],
      cwd: tempDir,
      env: await this.toolEnv(tempDir),
      signal: request.signal,
    });
    this.checkExit(result, 'kustomize', tempDir, copyRoot);
    collector.addYaml(result.stdout.toString('utf8'), `${relPath || '.'} (kustomize)`);
  }

  /**
   * The resources of a generated kustomization (Flux's rule): the manifests the plain
   * render reads, except that a subdirectory holding its own kustomization file is listed
   * once as a directory (the topmost one), as Flux lists it instead of descending into it.
   */
  private async generatedResources(
    realRoot: string,
    renderDir: string,
    relPath: string,
    dirInCopy: string,
  ): Promise<string[]> {
    const files = await listManifestFiles(realRoot, renderDir, this.options);
    const kustomizationDirs = new Map<string, boolean>();
    const resources: string[] = [];
    const seen = new Set<string>();
    for (const file of files) {
      const rel = relPath === '' ? file.relPath : posix.relative(relPath, file.relPath);
      const segments = rel.split('/');
      let resource = `./${rel}`;
      for (let depth = 1; depth < segments.length; depth++) {
        const sub = segments.slice(0, depth).join('/');
        let holds = kustomizationDirs.get(sub);
        if (holds === undefined) {
          holds = (await findKustomizationFile(join(dirInCopy, sub))) !== undefined;
          kustomizationDirs.set(sub, holds);
        }
        if (holds) {
          resource = `./${sub}`;
          break;
        }
      }
      if (!seen.has(resource)) {
        seen.add(resource);
        resources.push(resource);
      }
    }
    return resources;
  }

  /** Writes the overlay into the copy's kustomization file, as Flux does before its build. */
  private async writeOverlay(
    file: string,
    label: string,
    overlay: KustomizeOverlay,
  ): Promise<void> {
    const info = await stat(file);
    if (info.size > this.options.maxFileBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `${label} is larger than ${this.options.maxFileBytes} bytes`,
      );
    }
    const doc = parseDocument(await readFile(file, 'utf8'), { prettyErrors: false });
    let value: unknown;
    try {
      value =
        doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: this.options.maxAliasCount });
    } catch {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `too many YAML aliases in ${label}`,
      );
    }
    if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      throw new RenderingError(
        RenderingErrorCode.RenderFailed,
        `${label} is not a kustomization (a YAML object); the kustomize overlay cannot be written into it`,
      );
    }
    // Replace rather than write through: the copy's file may be a link to another file.
    await rm(file, { force: true });
    await writeKustomization(file, applyOverlay((value ?? {}) as Record<string, unknown>, overlay));
  }

  private async renderHelm(
    request: RenderRequest,
    realRoot: string,
    tempDir: string,
    collector: ManifestCollector,
    scope: FailureScope,
  ): Promise<void> {
    // A chart found by its Chart.yaml renders with the release's name and no values.
    const helm =
      request.release.helm ??
      (request.release.releaseName === undefined
        ? undefined
        : { releaseName: request.release.releaseName });
    if (helm === undefined) {
      throw new RenderingError(RenderingErrorCode.InvalidInput, 'kind helm needs a helm spec');
    }
    const target = request.target;
    validateHelmInputs(helm.releaseName, helm.namespace ?? target.targetNamespace, target);

    const chartRel = checkRelativePath(helm.chartPath ?? request.release.path, 'chart path');
    const chartReal = await resolveInArtifact(realRoot, chartRel, 'chart path');
    const valuesFiles = helm.valuesFiles ?? [];
    const valuesReal = scope.valuesFiles;
    let chartValues: Buffer[] | undefined;
    if (helm.fromHelmRepository === true) {
      // A Helm repository chart: its values files ship inside it (`values-prod.yaml`),
      // as with Flux's valuesFiles of a HelmRepository chart.
      await checkChartArchive(chartReal, chartRel);
      chartValues =
        valuesFiles.length > 0 ? await readChartFiles(chartReal, valuesFiles, this.options) : [];
      scope.valuesTexts.push(...chartValues.map((data) => data.toString('utf8')));
    } else {
      for (const file of valuesFiles) {
        valuesReal.push(await resolveInArtifact(realRoot, file, 'values file'));
      }
    }

    // The chart is rendered from a copy with outside symlinks removed, so
    // `.Files.Get` and templates cannot read anything beyond the artifact.
    const copyRoot = join(tempDir, 'src');
    const copy = await copyArtifact(realRoot, copyRoot, this.options);
    const chartInCopy = join(copyRoot, relative(realRoot, chartReal));
    const chartInCopyRel = relative(copyRoot, chartInCopy).split(sep).join('/');
    refuseEscapingSymlinksUnder(copy, chartInCopyRel);
    if (helm.fromHelmRepository !== true && (await stat(chartInCopy)).isDirectory()) {
      await placeChartDependencies(
        chartInCopy,
        copyRoot,
        request.fetchChartDependency,
        this.options,
        request.signal,
      );
    }

    const valuesContents: Array<Buffer | string> = chartValues ?? [];
    for (const [index, real] of valuesReal.entries()) {
      valuesContents.push(
        await readCapped(real, this.options.maxFileBytes, `values file ${index + 1}`),
      );
    }
    const valuesArgs: string[] = [];
    for (const [index, content] of valuesContents.entries()) {
      const copied = join(tempDir, `values-${index}.yaml`);
      await writeFile(copied, content);
      valuesArgs.push('--values', copied);
    }
    if (helm.values !== undefined && Object.keys(helm.values).length > 0) {
      // JSON is YAML; inline values come last so they win.
      const inline = join(tempDir, 'values-inline.json');
      await writeFile(inline, JSON.stringify(helm.values));
      valuesArgs.push('--values', inline);
    }
    const kubeVersion = target.kubernetesVersion.startsWith('v')
      ? target.kubernetesVersion
      : `v${target.kubernetesVersion}`;
    const args = [
      'template',
      helm.releaseName,
      chartInCopy,
      '--namespace',
      helm.namespace ?? target.targetNamespace,
      '--kube-version',
      kubeVersion,
      '--include-crds',
      ...(helm.includeTests === true ? [] : ['--skip-tests']),
      ...(target.apiVersions.length > 0 ? ['--api-versions', target.apiVersions.join(',')] : []),
      ...valuesArgs,
    ];
    const result = await this.runner.run({
      tool: 'helm',
      command: this.options.helmPath,
      args,
      cwd: tempDir,
      env: await this.toolEnv(tempDir),
      signal: request.signal,
    });
    this.checkExit(result, 'helm', tempDir, copyRoot);
    markChartCrds(collector, result.stdout.toString('utf8'), `${chartRel || '.'} (helm)`);
  }

  /** A closed environment: no inherited variables, no network, no plugins, state in the temp dir. */
  private async toolEnv(tempDir: string): Promise<Record<string, string>> {
    const home = join(tempDir, 'home');
    const emptyDir = join(tempDir, 'empty');
    await mkdir(home, { recursive: true });
    await mkdir(emptyDir, { recursive: true });
    const env: Record<string, string> = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_DATA_HOME: join(home, '.local'),
      KUBECONFIG: join(home, 'no-kubeconfig'),
      HELM_CACHE_HOME: join(home, 'helm-cache'),
      HELM_CONFIG_HOME: join(home, 'helm-config'),
      HELM_DATA_HOME: join(home, 'helm-data'),
      HELM_PLUGINS: emptyDir,
      HELM_REPOSITORY_CONFIG: join(home, 'helm-config', 'repositories.yaml'),
      HELM_REPOSITORY_CACHE: join(home, 'helm-cache', 'repository'),
      HELM_REGISTRY_CONFIG: join(home, 'helm-config', 'registry.json'),
      GOMEMLIMIT: `${Math.max(1, Math.floor(this.options.processMemoryLimitBytes / (1024 * 1024)))}MiB`,
      // Without remote bases the tools get no git on PATH and a dead proxy.
      PATH: this.options.allowRemoteBases ? '/usr/local/bin:/usr/bin:/bin' : emptyDir,
    };
    if (!this.options.allowRemoteBases) {
      for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'ALL_PROXY']) {
        env[name] = DEAD_PROXY;
      }
      env.NO_PROXY = '';
      env.no_proxy = '';
    }
    return env;
  }

  private checkExit(result: RunResult, tool: string, tempDir: string, copyRoot: string): void {
    if (result.exitCode === 0) {
      return;
    }
    // Tool messages name paths in the temp copy; show them relative to the artifact.
    const output = result.stderr.split(copyRoot).join('<artifact>').split(tempDir).join('<render>');
    const truncated = result.stderr.length >= this.options.maxStderrBytes;
    throw new ToolFailure(tool, result.exitCode, output, truncated);
  }

  /** Failure path only: the artifact scan costs nothing on a successful render. */
  private async scrubbed(
    error: unknown,
    request: RenderRequest,
    scope: FailureScope,
  ): Promise<unknown> {
    if (!(error instanceof RenderingError)) {
      return error;
    }
    // Our own timeout/abort messages quote no input; a scan would only add load.
    if (error.code === RenderingErrorCode.Timeout || error.code === RenderingErrorCode.Aborted) {
      return error;
    }
    let redactor: SecretRedactor | undefined;
    try {
      redactor = await collectRenderSecrets(
        {
          artifactRoot: scope.artifactRoot,
          scanDir: scope.scanDir,
          valuesFiles: scope.valuesFiles,
          valuesTexts: scope.valuesTexts,
          values: request.release.helm?.values,
        },
        this.options,
      );
    } catch {
      redactor = undefined;
    }
    if (error instanceof ToolFailure) {
      // Redact before cutting, so the cut cannot leave half a secret behind.
      const text =
        redactor === undefined
          ? 'error output withheld'
          : redactor
              .redact(error.output, { truncated: error.truncated })
              .trim()
              .slice(0, MAX_TOOL_MESSAGE);
      return new RenderingError(
        RenderingErrorCode.RenderFailed,
        `${error.message}: ${text || 'no error output'}`,
      );
    }
    // Without a redactor our own messages stand: they name paths and objects, not contents.
    if (redactor !== undefined) {
      error.message = redactor.redact(error.message);
      // The stack repeats the message as it was thrown.
      if (error.stack !== undefined) {
        error.stack = redactor.redact(error.stack);
      }
    }
    return error;
  }
}

async function writeKustomization(
  file: string,
  kustomization: Record<string, unknown>,
): Promise<void> {
  await writeFile(file, stringify(kustomization, { aliasDuplicateObjects: false, lineWidth: 0 }));
}

function validateHelmInputs(releaseName: string, namespace: string, target: TargetFacts): void {
  const problems: string[] = [];
  if (releaseName.length > 53 || !HELM_RELEASE_NAME.test(releaseName)) {
    problems.push('helm release name must be a DNS name of at most 53 characters');
  }
  if (!isDnsLabel(namespace)) {
    problems.push('namespace must be a DNS label');
  }
  if (!KUBE_VERSION.test(target.kubernetesVersion)) {
    problems.push('kubernetes version must look like 1.34.0');
  }
  const badApi = target.apiVersions.find((v) => !API_VERSION.test(v));
  if (badApi !== undefined) {
    problems.push(`api version "${badApi.slice(0, 100)}" is malformed`);
  }
  if (problems.length > 0) {
    throw new RenderingError(RenderingErrorCode.InvalidInput, problems.join('; '));
  }
}
