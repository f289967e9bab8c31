import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ManifestCollector, splitYamlDocuments } from './manifest-parser';
import {
  HELM_CRD_ANNOTATION,
  HELM_CRD_FROM_CRDS_DIR,
  PRUNE_ANNOTATION,
  PRUNE_DISABLED,
} from './rendering.types';

const SOURCE_LINE = /^# Source: (.+)$/m;
// `<chart>/crds/<file>` or `<chart>/charts/<sub>/.../crds/<file>`, as helm template names them.
const CRDS_SOURCE = /^[^/]+(\/charts\/[^/]+)*\/crds\//;

/** True when the directory holds a Chart.yaml: Argo CD renders such a path with Helm. */
export async function detectChartDirectory(dir: string): Promise<boolean> {
  const info = await stat(join(dir, 'Chart.yaml')).catch(() => undefined);
  return info?.isFile() === true;
}

/**
 * Adds `helm template --include-crds` output to the collector and marks what came from
 * `crds/`. Helm prints a `# Source:` line only before the first document of each file, so
 * a document without one belongs to the file named last.
 */
export function markChartCrds(collector: ManifestCollector, text: string, label: string): void {
  let source = '';
  for (const doc of splitYamlDocuments(text)) {
    source = SOURCE_LINE.exec(doc)?.[1]?.trim() ?? source;
    const before = collector.objects.length;
    collector.addYaml(doc, label);
    if (!CRDS_SOURCE.test(source)) {
      continue;
    }
    for (const object of collector.objects.slice(before)) {
      object.metadata.annotations = {
        ...object.metadata.annotations,
        [PRUNE_ANNOTATION]: PRUNE_DISABLED,
        [HELM_CRD_ANNOTATION]: HELM_CRD_FROM_CRDS_DIR,
      };
    }
  }
}
