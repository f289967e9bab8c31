// Flux Kustomization overlay fields (spec.patches, spec.images, spec.namePrefix,
// spec.nameSuffix, spec.commonMetadata, spec.components): checked by the Release API,
// merged into a path's kustomization by the render. Pure: no I/O.

import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { FieldProblem } from 'src/common/errors/app-error';
import { labelKeyProblem, labelValueProblem, MAX_LABELS } from 'src/common/labels/labels';
import type { KubeObject, KustomizeImage, KustomizeOverlay } from './rendering.types';

export const MAX_PATCHES = 64;
export const MAX_PATCH_BYTES = 32 * 1024;
export const MAX_IMAGES = 64;
export const MAX_COMPONENTS = 32;
export const MAX_ANNOTATIONS = 64;
export const MAX_ANNOTATION_BYTES = 64 * 1024;
const MAX_PATCH_ALIASES = 100;

// kustomize's name transformer only prepends/appends text, so the result must stay a
// DNS subdomain: lower case alphanumerics, `-` and `.`; a prefix starts, a suffix ends
// with an alphanumeric.
const NAME_PREFIX = /^[a-z0-9][-a-z0-9.]*$/;
const NAME_SUFFIX = /^[-a-z0-9.]*[a-z0-9]$/;
const MAX_AFFIX = 63;
// Docker's tag grammar and the OCI digest grammar (`algorithm:encoded`).
const IMAGE_TAG = /^[\w][\w.-]{0,127}$/;
const IMAGE_DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const IMAGE_NAME = /^[^\s@]+$/;
const JSON6902_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const REMOTE = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/|git@|git::)/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a patch text holds, as kustomize reads a `patches[].patch`: one YAML/JSON list
 * is a JSON 6902 patch; one or more objects are strategic-merge patches.
 */
export type ParsedPatch =
  | { kind: 'json6902'; operations: unknown[] }
  | { kind: 'strategicMerge'; objects: Record<string, unknown>[] }
  | { kind: 'invalid'; message: string };

export function parsePatch(text: string): ParsedPatch {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs)) {
    return {
      kind: 'invalid',
      message: 'is empty; give a strategic-merge patch or a JSON 6902 list',
    };
  }
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      return { kind: 'invalid', message: `is not valid YAML or JSON: ${doc.errors[0]?.code}` };
    }
    try {
      values.push(doc.toJS({ maxAliasCount: MAX_PATCH_ALIASES }));
    } catch {
      return { kind: 'invalid', message: 'uses too many YAML aliases' };
    }
  }
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) {
    return {
      kind: 'invalid',
      message: 'is empty; give a strategic-merge patch or a JSON 6902 list',
    };
  }
  if (present.length === 1 && Array.isArray(present[0])) {
    return { kind: 'json6902', operations: present[0] };
  }
  if (present.every(isRecord)) {
    return { kind: 'strategicMerge', objects: present };
  }
  return {
    kind: 'invalid',
    message: 'must be a YAML/JSON object (strategic merge) or one list of JSON 6902 operations',
  };
}

function json6902Problem(operations: unknown[]): string | undefined {
  if (operations.length === 0) {
    return 'is an empty JSON 6902 list';
  }
  for (const [i, op] of operations.entries()) {
    if (!isRecord(op) || typeof op.op !== 'string' || !JSON6902_OPS.has(op.op)) {
      return `operation ${i} needs an op of add, remove, replace, move, copy or test`;
    }
    if (typeof op.path !== 'string' || !op.path.startsWith('/')) {
      return `operation ${i} needs a path, a JSON pointer starting with "/"`;
    }
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') {
      return `operation ${i} (${op.op}) needs a from pointer`;
    }
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) {
      return `operation ${i} (${op.op}) needs a value`;
    }
  }
  return undefined;
}

/**
 * A component path joined to the release path, normalized with `/`; undefined when it is
 * absolute, remote or leads out of the source.
 */
export function componentPath(releasePath: string, component: string): string | undefined {
  if (
    component === '' ||
    component.includes('\0') ||
    component.includes('\\') ||
    posix.isAbsolute(component) ||
    /^[A-Za-z]:/.test(component) ||
    REMOTE.test(component)
  ) {
    return undefined;
  }
  const joined = posix.normalize(posix.join(releasePath === '' ? '.' : releasePath, component));
  if (joined === '..' || joined.startsWith('../')) {
    return undefined;
  }
  return joined;
}

/** Write-time checks of a release's `kustomize`; every problem names its field. */
export function overlayProblems(
  overlay: KustomizeOverlay,
  releasePath: string,
  field = 'kustomize',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (f: string, message: string): void => {
    problems.push({ field: `${field}.${f}`, message });
  };
  const patches = overlay.patches ?? [];
  if (patches.length > MAX_PATCHES) {
    add('patches', `at most ${MAX_PATCHES} patches`);
  }
  for (const [i, entry] of patches.slice(0, MAX_PATCHES).entries()) {
    if (Buffer.byteLength(entry.patch, 'utf8') > MAX_PATCH_BYTES) {
      add(`patches.${i}.patch`, `is larger than ${MAX_PATCH_BYTES} bytes`);
      continue;
    }
    const parsed = parsePatch(entry.patch);
    switch (parsed.kind) {
      case 'invalid':
        add(`patches.${i}.patch`, parsed.message);
        break;
      case 'json6902': {
        const problem = json6902Problem(parsed.operations);
        if (problem !== undefined) {
          add(`patches.${i}.patch`, problem);
        } else if (entry.target === undefined || Object.keys(entry.target).length === 0) {
          // kustomize finds a JSON 6902 patch's object only through its target.
          add(`patches.${i}.target`, 'is required for a JSON 6902 patch');
        }
        break;
      }
      case 'strategicMerge':
        if (entry.target === undefined) {
          // Without a target kustomize patches the object the patch itself names.
          for (const object of parsed.objects) {
            const metadata = isRecord(object.metadata) ? object.metadata : {};
            if (typeof object.kind !== 'string' || typeof metadata.name !== 'string') {
              add(
                `patches.${i}.patch`,
                'a strategic-merge patch without a target must name its object (kind and metadata.name)',
              );
              break;
            }
          }
        }
        break;
    }
  }

  const images = overlay.images ?? [];
  if (images.length > MAX_IMAGES) {
    add('images', `at most ${MAX_IMAGES} images`);
  }
  for (const [i, image] of images.slice(0, MAX_IMAGES).entries()) {
    if (image.name.trim() === '' || !IMAGE_NAME.test(image.name)) {
      add(`images.${i}.name`, 'must be a non-empty image name without spaces or "@"');
    }
    if (image.newName !== undefined && !IMAGE_NAME.test(image.newName)) {
      add(`images.${i}.newName`, 'must be a non-empty image name without spaces or "@"');
    }
    if (image.newTag !== undefined && !IMAGE_TAG.test(image.newTag)) {
      add(`images.${i}.newTag`, 'must be an image tag: letters, digits, _, . and -, at most 128');
    }
    // Flux (and kustomize) accept newTag together with digest: the digest wins.
    if (image.digest !== undefined && !IMAGE_DIGEST.test(image.digest)) {
      add(`images.${i}.digest`, 'must be a digest such as sha256:<64 hex digits>');
    }
  }

  if (overlay.namePrefix !== undefined) {
    if (overlay.namePrefix.length > MAX_AFFIX || !NAME_PREFIX.test(overlay.namePrefix)) {
      add(
        'namePrefix',
        `must be at most ${MAX_AFFIX} lower case letters, digits, "-" and ".", starting with a letter or digit`,
      );
    }
  }
  if (overlay.nameSuffix !== undefined) {
    if (overlay.nameSuffix.length > MAX_AFFIX || !NAME_SUFFIX.test(overlay.nameSuffix)) {
      add(
        'nameSuffix',
        `must be at most ${MAX_AFFIX} lower case letters, digits, "-" and ".", ending with a letter or digit`,
      );
    }
  }

  const labels = Object.entries(overlay.commonMetadata?.labels ?? {});
  if (labels.length > MAX_LABELS) {
    add('commonMetadata.labels', `at most ${MAX_LABELS} labels`);
  }
  for (const [key, value] of labels) {
    const problem =
      labelKeyProblem(key) ??
      (typeof value === 'string' ? labelValueProblem(value) : 'must be a string');
    if (problem !== undefined) {
      add(`commonMetadata.labels.${key}`, problem);
    }
  }
  const annotations = Object.entries(overlay.commonMetadata?.annotations ?? {});
  if (annotations.length > MAX_ANNOTATIONS) {
    add('commonMetadata.annotations', `at most ${MAX_ANNOTATIONS} annotations`);
  }
  let annotationBytes = 0;
  for (const [key, value] of annotations) {
    const problem = labelKeyProblem(key)?.replace('label', 'annotation');
    if (problem !== undefined) {
      add(`commonMetadata.annotations.${key}`, problem);
    } else if (typeof value !== 'string') {
      add(`commonMetadata.annotations.${key}`, 'must be a string');
    } else {
      annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    }
  }
  if (annotationBytes > MAX_ANNOTATION_BYTES) {
    add('commonMetadata.annotations', `must total at most ${MAX_ANNOTATION_BYTES} bytes`);
  }

  const components = overlay.components ?? [];
  if (components.length > MAX_COMPONENTS) {
    add('components', `at most ${MAX_COMPONENTS} components`);
  }
  for (const [i, component] of components.slice(0, MAX_COMPONENTS).entries()) {
    if (componentPath(releasePath, component) === undefined) {
      add(
        `components.${i}`,
        'must be a local path relative to the release path that stays inside the source (no absolute path, no URL)',
      );
    }
  }
  return problems;
}

/** True when the overlay changes anything kustomize renders. */
export function overlayNeedsKustomize(overlay: KustomizeOverlay): boolean {
  return (
    (overlay.patches ?? []).length > 0 ||
    (overlay.images ?? []).length > 0 ||
    (overlay.namePrefix ?? '') !== '' ||
    (overlay.nameSuffix ?? '') !== '' ||
    (overlay.components ?? []).length > 0
  );
}

/**
 * The kustomization Flux generates for a path without one: the path's manifests (and
 * subdirectories holding their own kustomization, as one entry each) as resources.
 */
export function generatedKustomization(resources: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...resources],
  };
}

/**
 * The path's kustomization with the overlay written in, as Flux's kustomize generator
 * does: patches and components appended, an image of the same name replaced else
 * appended, namePrefix/nameSuffix set. Every other field is kept as written.
 */
export function applyOverlay(
  kustomization: Record<string, unknown>,
  overlay: KustomizeOverlay,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...kustomization };
  const patches = overlay.patches ?? [];
  if (patches.length > 0) {
    const existing = Array.isArray(out.patches) ? (out.patches as unknown[]) : [];
    out.patches = [
      ...existing,
      ...patches.map((p) => ({
        patch: p.patch,
        ...(p.target === undefined ? {} : { target: { ...p.target } }),
      })),
    ];
  }
  const images = overlay.images ?? [];
  if (images.length > 0) {
    const merged: unknown[] = Array.isArray(out.images) ? [...(out.images as unknown[])] : [];
    for (const image of images) {
      const entry = imageEntry(image);
      const at = merged.findIndex((e) => isRecord(e) && e.name === image.name);
      if (at >= 0) {
        merged[at] = entry;
      } else {
        merged.push(entry);
      }
    }
    out.images = merged;
  }
  if ((overlay.namePrefix ?? '') !== '') {
    out.namePrefix = overlay.namePrefix;
  }
  if ((overlay.nameSuffix ?? '') !== '') {
    out.nameSuffix = overlay.nameSuffix;
  }
  const components = overlay.components ?? [];
  if (components.length > 0) {
    const existing = Array.isArray(out.components) ? (out.components as unknown[]) : [];
    out.components = [...existing, ...components];
  }
  return out;
}

function imageEntry(image: KustomizeImage): Record<string, string> {
  return {
    name: image.name,
    ...(image.newName === undefined ? {} : { newName: image.newName }),
    ...(image.newTag === undefined ? {} : { newTag: image.newTag }),
    ...(image.digest === undefined ? {} : { digest: image.digest }),
  };
}

/**
 * Flux's `spec.commonMetadata`: labels and annotations set on every object's own
 * metadata after the build (and after postBuild substitution), overriding keys of the
 * same name; selectors and pod templates are left alone, unlike kustomize commonLabels.
 */
export function setCommonMetadata(
  objects: KubeObject[],
  commonMetadata: KustomizeOverlay['commonMetadata'],
): void {
  const labels = commonMetadata?.labels ?? {};
  const annotations = commonMetadata?.annotations ?? {};
  if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) {
    return;
  }
  for (const object of objects) {
    const metadata = (object.metadata ??= {});
    if (Object.keys(labels).length > 0) {
      metadata.labels = { ...(metadata.labels ?? {}), ...labels };
    }
    if (Object.keys(annotations).length > 0) {
      metadata.annotations = { ...(metadata.annotations ?? {}), ...annotations };
    }
  }
}
