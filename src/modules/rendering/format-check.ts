import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { RenderingError, RenderingErrorCode } from './rendering.errors';

export const RENDERED_FORMATS =
  'gitfleet renders plain YAML/JSON manifests, Kustomize (a kustomization.yaml) and Helm charts';

// Languages people keep manifests in that gitfleet does not evaluate, by extension.
const KNOWN_FORMATS: Readonly<Record<string, string>> = {
  '.jsonnet': 'Jsonnet',
  '.libsonnet': 'Jsonnet',
  '.cue': 'CUE',
  '.dhall': 'Dhall',
  '.pkl': 'Pkl',
};

// Files that sit beside manifests without being meant for the cluster: never a format.
const DOCUMENTATION = new Set(['', '.md', '.markdown', '.txt', '.rst', '.adoc', '.gitkeep']);
const MANIFEST = /\.(ya?ml|json)$/i;
const MAX_ENTRIES = 2_000;

/** True when `dir` holds a Helm chart: a `Chart.yaml`, Argo CD's tool-detection rule for Helm. */
export async function isHelmChart(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'Chart.yaml'))).isFile();
  } catch {
    return false;
  }
}

/** Refuses a Helm chart at a path asked to render as plain YAML or Kustomize. */
export async function refuseChartAs(dir: string, relPath: string, asked: string): Promise<void> {
  if (await isHelmChart(dir)) {
    throw new RenderingError(
      RenderingErrorCode.UnsupportedFormat,
      `path "${relPath || '.'}" holds a Helm chart (Chart.yaml) where ${asked} was expected; ` +
        `${RENDERED_FORMATS}: set the release's helm.chart to this path to render it with Helm`,
    );
  }
}

/**
 * Why a directory with no manifests renders nothing, when it holds files of
 * another format (Jsonnet, CUE, ...); undefined when it is empty or holds only
 * documentation, which keeps its own "no objects" message.
 */
export async function unsupportedFormatIn(
  dir: string,
  relPath: string,
): Promise<string | undefined> {
  const found = new Map<string, number>();
  let seen = 0;
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || ++seen > MAX_ENTRIES) {
        continue;
      }
      if (entry.isDirectory()) {
        await walk(join(current, entry.name));
        continue;
      }
      const ext = extname(entry.name).toLowerCase();
      if (MANIFEST.test(entry.name) || DOCUMENTATION.has(ext)) {
        continue;
      }
      const name = KNOWN_FORMATS[ext] ?? `*${ext} files`;
      found.set(name, (found.get(name) ?? 0) + 1);
    }
  };
  await walk(dir);
  if (found.size === 0) {
    return undefined;
  }
  const what = [...found]
    .slice(0, 5)
    .map(([name, n]) => `${name} (${n} file${n === 1 ? '' : 's'})`)
    .join(', ');
  return (
    `path "${relPath || '.'}" holds no YAML or JSON manifests, only ${what}, ` +
    `which gitfleet does not render; ${RENDERED_FORMATS}: commit the rendered YAML instead`
  );
}
