import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isWithin } from './artifact-fs';
import { RenderingError, RenderingErrorCode } from './rendering.errors';

export const KUSTOMIZATION_FILES = [
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
] as const;

/** Name of the kustomization file in `dir`, if any. */
export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  const names = new Set(await readdir(dir).catch(() => []));
  return KUSTOMIZATION_FILES.find((name) => names.has(name));
}

// Kinds kustomize runs in-process (apiVersion `builtin`); everything else needs plugins.
const BUILTIN_PLUGIN_KINDS: ReadonlySet<string> = new Set([
  'AnnotationsTransformer',
  'ConfigMapGenerator',
  'HashTransformer',
  'IAMPolicyGenerator',
  'ImageTagTransformer',
  'LabelTransformer',
  'NamespaceTransformer',
  'PatchJson6902Transformer',
  'PatchStrategicMergeTransformer',
  'PatchTransformer',
  'PrefixSuffixTransformer',
  'PrefixTransformer',
  'SuffixTransformer',
  'ReplacementTransformer',
  'ReplicaCountTransformer',
  'SecretGenerator',
  'SortOrderTransformer',
  'ValueAddTransformer',
]);

const FUNCTION_ANNOTATIONS = ['config.kubernetes.io/function', 'config.k8s.io/function'];

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const GIT_FORMS = /^(git::|git@|ssh:|github\.com[/:]|gitlab\.com[/:]|bitbucket\.org[/:])/i;
const HOST_LIKE = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.[A-Za-z]{2,}\//;

export interface KustomizeCheckLimits {
  readonly maxFileBytes: number;
  readonly maxAliasCount: number;
  readonly allowRemoteBases: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Walks a kustomization and every local kustomization it references (resources,
 * bases, components, generators, transformers, validators) inside the copy
 * root, refusing — before kustomize runs — remote bases (unless allowed),
 * Helm inflation, and generator/transformer configs that are exec/KRM
 * functions or non-builtin plugins. Kustomize itself still enforces the
 * root-only load restrictor on files.
 */
export async function checkKustomization(
  copyRoot: string,
  dir: string,
  limits: KustomizeCheckLimits,
): Promise<void> {
  const visited = new Set<string>();
  const rel = (p: string): string => p.slice(copyRoot.length + 1) || '.';

  const parseFile = async (file: string): Promise<unknown[]> => {
    const info = await stat(file);
    if (info.size > limits.maxFileBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `${rel(file)} is larger than ${limits.maxFileBytes} bytes`,
      );
    }
    const docs = parseAllDocuments(await readFile(file, 'utf8'), { prettyErrors: false });
    if (!Array.isArray(docs)) {
      return [];
    }
    return docs.map((doc) => {
      if (doc.errors.length > 0) {
        throw new RenderingError(RenderingErrorCode.RenderFailed, `invalid YAML in ${rel(file)}`);
      }
      try {
        return doc.toJS({ maxAliasCount: limits.maxAliasCount }) as unknown;
      } catch {
        throw new RenderingError(
          RenderingErrorCode.LimitExceeded,
          `too many YAML aliases in ${rel(file)}`,
        );
      }
    });
  };

  const isRemote = async (base: string, ref: string): Promise<boolean> => {
    if (URL_SCHEME.test(ref) || GIT_FORMS.test(ref)) {
      return true;
    }
    if (HOST_LIKE.test(ref)) {
      // `example.com/org/repo` is remote unless such a local path exists.
      return !(await stat(join(base, ref)).then(
        () => true,
        () => false,
      ));
    }
    return false;
  };

  const checkPluginConfig = (config: unknown, where: string): void => {
    if (!isRecord(config)) {
      return;
    }
    const metadata = isRecord(config.metadata) ? config.metadata : {};
    const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
    if (FUNCTION_ANNOTATIONS.some((a) => a in annotations)) {
      throw new RenderingError(
        RenderingErrorCode.FunctionRefused,
        `${where}: exec/KRM functions are not allowed`,
      );
    }
    const kind = typeof config.kind === 'string' ? config.kind : '';
    if (kind === 'HelmChartInflationGenerator') {
      throw new RenderingError(
        RenderingErrorCode.FunctionRefused,
        `${where}: Helm inflation is not allowed`,
      );
    }
    if (!BUILTIN_PLUGIN_KINDS.has(kind)) {
      throw new RenderingError(
        RenderingErrorCode.FunctionRefused,
        `${where}: plugin kind "${kind}" is not a kustomize builtin; plugins are not allowed`,
      );
    }
  };

  const visitDir = async (kdir: string): Promise<void> => {
    let real: string;
    try {
      real = await realpath(kdir);
    } catch {
      return; // kustomize reports missing paths itself
    }
    if (!isWithin(copyRoot, real) || visited.has(real)) {
      return; // outside: the load restrictor / kustomize will refuse it
    }
    visited.add(real);
    const name = await findKustomizationFile(real);
    if (name === undefined) {
      return;
    }
    const file = join(real, name);
    const [kustomization] = await parseFile(file);
    if (!isRecord(kustomization)) {
      return;
    }
    const where = rel(file);
    if (
      kustomization.helmCharts !== undefined ||
      kustomization.helmChartInflationGenerator !== undefined
    ) {
      throw new RenderingError(
        RenderingErrorCode.FunctionRefused,
        `${where}: Helm inflation is not allowed`,
      );
    }
    const refs = [
      ...strings(kustomization.resources),
      ...strings(kustomization.bases),
      ...strings(kustomization.components),
      ...strings(kustomization.crds),
      ...strings(kustomization.configurations),
    ];
    const openapi = isRecord(kustomization.openapi) ? kustomization.openapi.path : undefined;
    if (typeof openapi === 'string') {
      refs.push(openapi);
    }
    for (const ref of refs) {
      if (await isRemote(real, ref)) {
        if (!limits.allowRemoteBases) {
          throw new RenderingError(
            RenderingErrorCode.RemoteBaseRefused,
            `${where}: remote resource "${ref.slice(0, 200)}" is not allowed`,
          );
        }
        continue;
      }
      await visitDir(join(real, ref));
    }
    for (const field of ['generators', 'transformers', 'validators'] as const) {
      const entries: unknown = kustomization[field];
      if (!Array.isArray(entries)) {
        continue;
      }
      for (const entry of entries) {
        if (isRecord(entry)) {
          checkPluginConfig(entry, `${where} ${field}`); // inline config
          continue;
        }
        if (typeof entry !== 'string') {
          continue;
        }
        if (await isRemote(real, entry)) {
          throw new RenderingError(
            RenderingErrorCode.RemoteBaseRefused,
            `${where}: remote ${field} entry "${entry.slice(0, 200)}" is not allowed`,
          );
        }
        const target = join(real, entry);
        let targetReal: string;
        try {
          targetReal = await realpath(target);
        } catch {
          continue;
        }
        if (!isWithin(copyRoot, targetReal)) {
          continue;
        }
        if ((await stat(targetReal)).isDirectory()) {
          // A kustomization whose output is the list of plugin configs.
          const inner = await findKustomizationFile(targetReal);
          if (inner !== undefined) {
            await visitDir(targetReal);
            for (const file of await readdir(targetReal)) {
              if (/\.ya?ml$/.test(file) && file !== inner) {
                for (const config of await parseFile(join(targetReal, file))) {
                  checkPluginConfig(config, `${rel(join(targetReal, file))}`);
                }
              }
            }
          }
          continue;
        }
        for (const config of await parseFile(targetReal)) {
          checkPluginConfig(config, `${rel(targetReal)}`);
        }
      }
    }
  };

  await visitDir(dir);
}
