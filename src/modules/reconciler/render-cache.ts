import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RenderResult } from 'src/modules/rendering/rendering.types';

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
}
