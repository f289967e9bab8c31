import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { RenderResult } from 'src/modules/rendering/rendering.types';
import { referencedVariableNames } from 'src/modules/rendering/variables';

interface Entry {
  readonly result: Promise<RenderResult>;
}

/**
 * Renders keyed by everything that can change the output: release generation,
 * revision and the variable set. Clusters with the same variables share one
 * render, and concurrent requests for the same key share one child process.
 */
@Injectable()
export class RenderCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries = 2_000;
  private readonly references = new Map<string, Promise<ReadonlySet<string>>>();
  private readonly maxReferenceEntries = 64;
  private readonly charts = new Map<string, Promise<boolean>>();

  static key(parts: Record<string, unknown>): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  get(key: string, render: () => Promise<RenderResult>): Promise<RenderResult> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.result;
    }
    const result = render();
    this.entries.set(key, { result });
    // Failures are not cached: the next reconcile retries the render.
    result.catch(() => this.entries.delete(key));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.entries.delete(oldest);
    }
    return result;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Whether a path of an artifact holds a chart (Chart.yaml), asked once per artifact
   * directory and path: an artifact directory never changes (one per revision), and
   * every target of a release would otherwise repeat the same file-system checks.
   */
  chartDetected(
    artifactRoot: string,
    path: string,
    detect: () => Promise<boolean>,
  ): Promise<boolean> {
    const key = `${artifactRoot}\0${path}`;
    const hit = this.charts.get(key);
    if (hit !== undefined) {
      return hit;
    }
    const detected = detect();
    this.charts.set(key, detected);
    detected.catch(() => this.charts.delete(key));
    while (this.charts.size > this.maxEntries) {
      const oldest = this.charts.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.charts.delete(oldest);
    }
    return detected;
  }

  /**
   * Every variable name referenced anywhere in an artifact (a superset of what one
   * release path uses, since kustomize may reach outside it). Plain and kustomize
   * renders depend on the cluster only through these, so clusters that agree on
   * their values share one render. Cached per artifact directory (one per revision).
   */
  referencedVariables(artifactRoot: string): Promise<ReadonlySet<string>> {
    const hit = this.references.get(artifactRoot);
    if (hit !== undefined) {
      return hit;
    }
    const scan = scanReferences(artifactRoot);
    this.references.set(artifactRoot, scan);
    scan.catch(() => this.references.delete(artifactRoot));
    while (this.references.size > this.maxReferenceEntries) {
      const oldest = this.references.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.references.delete(oldest);
    }
    return scan;
  }
}

async function scanReferences(root: string): Promise<ReadonlySet<string>> {
  const names = new Set<string>();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || entry.parentPath.split('/').includes('.git')) {
      continue;
    }
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8');
    for (const name of referencedVariableNames(text)) {
      names.add(name);
    }
  }
  return names;
}
