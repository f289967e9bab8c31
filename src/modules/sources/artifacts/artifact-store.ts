import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { digestTree, walkTree } from 'src/modules/sources/artifacts/tree-digest';
import { Clock } from 'src/modules/sources/ports/clock';
import { SOURCES_OPTIONS, type SourcesOptions } from 'src/modules/sources/sources.options';

/** An immutable, content-addressed directory produced by one fetch. */
export interface Artifact {
  /** Identifies the Source configuration the artifact was built for (URL, ignore rules, …). */
  sourceKey: string;
  /** `main@sha1:<commit>`, `v1.2.0@sha1:<commit>`, `sha1:<commit>`, or a chart version. */
  revision: string;
  /** `sha256:<hex>` of the content (see digestTree). */
  digest: string;
  /** Read-only directory holding the content. */
  path: string;
  sizeBytes: number;
  fileCount: number;
  createdAt: Date;
}

/** Granularity of an artifact's last-use time (garbage collection removes the least recently used). */
const LAST_USE_RESOLUTION_MS = 60_000;

interface RevisionRecord {
  sourceKey: string;
  revision: string;
  digest: string;
}

interface ObjectRecord {
  digest: string;
  sizeBytes: number;
  fileCount: number;
  createdAt: string;
  lastUsedAt: string;
}

export interface ArtifactLease {
  release(): void;
}

export interface GcOptions {
  /** Digests that must survive, e.g. the current artifact of every Source. */
  keep?: Iterable<string>;
  /** Defaults to options.maxCacheBytes. */
  maxTotalBytes?: number;
}

export interface GcResult {
  removedDigests: string[];
  totalBytes: number;
  /** Scratch directories left behind by a crashed process (key files included) and removed. */
  removedScratchDirs: number;
}

function hexOf(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (match?.[1] === undefined) {
    throw new Error(`not an artifact digest: ${digest}`);
  }
  return match[1];
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Makes a read-only tree removable again (directories lose their write bit when stored). */
async function makeWritable(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isNotFound(error)) {
      return;
    }
    throw error;
  }
  if (!stats.isDirectory()) {
    return;
  }
  await chmod(path, 0o700);
  for (const name of await readdir(path)) {
    await makeWritable(join(path, name));
  }
}

export async function removeTree(path: string): Promise<void> {
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}

/**
 * Content-addressed artifact cache:
 *   <cacheDir>/artifacts/<hex>/        the content, read-only
 *   <cacheDir>/artifacts/<hex>.json    size, file count, last use (for GC)
 *   <cacheDir>/revisions/<key>.json    (sourceKey, revision) → digest
 *   <cacheDir>/tmp/                    private scratch space of fetches (same filesystem)
 * Two revisions with the same content share one directory.
 */
@Injectable()
export class ArtifactStore {
  private readonly pins = new Map<string, number>();

  constructor(
    @Inject(SOURCES_OPTIONS) private readonly options: SourcesOptions,
    private readonly clock: Clock,
  ) {}

  private get artifactsDir(): string {
    return join(this.options.cacheDir, 'artifacts');
  }

  private get revisionsDir(): string {
    return join(this.options.cacheDir, 'revisions');
  }

  get scratchDir(): string {
    return join(this.options.cacheDir, 'tmp');
  }

  private revisionFile(sourceKey: string, revision: string): string {
    const key = createHash('sha256').update(`${sourceKey}\n${revision}`).digest('hex');
    return join(this.revisionsDir, `${key}.json`);
  }

  private async ensureLayout(): Promise<void> {
    await mkdir(this.artifactsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.revisionsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.scratchDir, { recursive: true, mode: 0o700 });
  }

  /** A fresh private directory under the cache's scratch space. */
  async createScratchDir(prefix: string): Promise<string> {
    await this.ensureLayout();
    const dir = join(this.scratchDir, `${prefix}-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  private async readObject(hex: string): Promise<ObjectRecord | undefined> {
    try {
      return JSON.parse(
        await readFile(join(this.artifactsDir, `${hex}.json`), 'utf8'),
      ) as ObjectRecord;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw error;
    }
  }

  private async writeObject(record: ObjectRecord): Promise<void> {
    const file = join(this.artifactsDir, `${hexOf(record.digest)}.json`);
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(record), { mode: 0o600 });
    await rename(temp, file);
  }

  private toArtifact(sourceKey: string, revision: string, record: ObjectRecord): Artifact {
    return {
      sourceKey,
      revision,
      digest: record.digest,
      path: join(this.artifactsDir, hexOf(record.digest)),
      sizeBytes: record.sizeBytes,
      fileCount: record.fileCount,
      createdAt: new Date(record.createdAt),
    };
  }

  /** The artifact of a revision, if it was built before; marks it as recently used. */
  async lookup(sourceKey: string, revision: string): Promise<Artifact | undefined> {
    let link: RevisionRecord;
    try {
      link = JSON.parse(
        await readFile(this.revisionFile(sourceKey, revision), 'utf8'),
      ) as RevisionRecord;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw error;
    }
    if (link.sourceKey !== sourceKey || link.revision !== revision) {
      return undefined;
    }
    const record = await this.readObject(hexOf(link.digest));
    if (record === undefined) {
      return undefined;
    }
    try {
      await lstat(join(this.artifactsDir, hexOf(record.digest)));
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw error;
    }
    // Every reconcile looks its artifact up: refresh the GC's last-use mark at most once
    // a minute, not once a lookup (a write and a rename each).
    const now = this.clock.now();
    if (now.getTime() - Date.parse(record.lastUsedAt) >= LAST_USE_RESOLUTION_MS) {
      record.lastUsedAt = now.toISOString();
      await this.writeObject(record);
    }
    return this.toArtifact(sourceKey, revision, record);
  }

  /**
   * Turns a finished staging directory (created with createScratchDir) into the artifact
   * of a revision. The staging directory is consumed either way.
   */
  async commit(sourceKey: string, revision: string, stagingDir: string): Promise<Artifact> {
    await this.ensureLayout();
    try {
      const summary = await digestTree(stagingDir);
      const hex = hexOf(summary.digest);
      const target = join(this.artifactsDir, hex);
      const now = this.clock.now().toISOString();
      let record = await this.readObject(hex);
      if (record === undefined || !(await exists(target))) {
        try {
          await rename(stagingDir, target);
          await freeze(target);
        } catch (error) {
          // Someone stored the same content meanwhile: identical by construction.
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
            throw error;
          }
        }
        record = {
          digest: summary.digest,
          sizeBytes: summary.sizeBytes,
          fileCount: summary.fileCount,
          createdAt: now,
          lastUsedAt: now,
        };
      } else {
        record.lastUsedAt = now;
      }
      await this.writeObject(record);
      const link: RevisionRecord = { sourceKey, revision, digest: summary.digest };
      const file = this.revisionFile(sourceKey, revision);
      const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, JSON.stringify(link), { mode: 0o600 });
      await rename(temp, file);
      return this.toArtifact(sourceKey, revision, record);
    } finally {
      await removeTree(stagingDir);
    }
  }

  /** Protects an artifact from GC while a reader (a render) uses it. */
  acquire(digest: string): ArtifactLease {
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    let released = false;
    return {
      release: (): void => {
        if (released) {
          return;
        }
        released = true;
        const count = (this.pins.get(digest) ?? 1) - 1;
        if (count <= 0) {
          this.pins.delete(digest);
        } else {
          this.pins.set(digest, count);
        }
      },
    };
  }

  private async listObjects(): Promise<ObjectRecord[]> {
    await this.ensureLayout();
    const records: ObjectRecord[] = [];
    for (const name of await readdir(this.artifactsDir)) {
      const match = /^([0-9a-f]{64})\.json$/.exec(name);
      if (match?.[1] === undefined) {
        continue;
      }
      const record = await this.readObject(match[1]);
      if (record !== undefined) {
        records.push(record);
      }
    }
    return records;
  }

  async totalBytes(): Promise<number> {
    return (await this.listObjects()).reduce((sum, record) => sum + record.sizeBytes, 0);
  }

  /**
   * Deletes least recently used artifacts until the cache fits maxTotalBytes. Artifacts
   * in `keep` or acquired by a reader are never deleted, even if the cache stays too big.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const maxTotalBytes = options.maxTotalBytes ?? this.options.maxCacheBytes;
    const keep = new Set(options.keep ?? []);
    const records = (await this.listObjects()).sort((a, b) =>
      a.lastUsedAt.localeCompare(b.lastUsedAt),
    );
    let totalBytes = records.reduce((sum, record) => sum + record.sizeBytes, 0);
    const removed: string[] = [];
    for (const record of records) {
      if (totalBytes <= maxTotalBytes) {
        break;
      }
      if (keep.has(record.digest) || this.pins.has(record.digest)) {
        continue;
      }
      const hex = hexOf(record.digest);
      // Index first: a half-removed artifact must never be served.
      await rm(join(this.artifactsDir, `${hex}.json`), { force: true });
      await removeTree(join(this.artifactsDir, hex));
      totalBytes -= record.sizeBytes;
      removed.push(record.digest);
    }
    if (removed.length > 0) {
      const gone = new Set(removed);
      for (const name of await readdir(this.revisionsDir)) {
        const file = join(this.revisionsDir, name);
        try {
          const link = JSON.parse(await readFile(file, 'utf8')) as RevisionRecord;
          if (gone.has(link.digest)) {
            await rm(file, { force: true });
          }
        } catch (error) {
          if (!isNotFound(error)) {
            throw error;
          }
        }
      }
    }
    const removedScratchDirs = await this.removeStaleScratch();
    return { removedDigests: removed, totalBytes, removedScratchDirs };
  }

  // A fetch removes its scratch directory in finally; only a killed process leaves one.
  // Anything older than any fetch can run belongs to such a process.
  private async removeStaleScratch(): Promise<number> {
    const maxAgeMs = Math.max(3600, 2 * this.options.fetchTimeoutSeconds) * 1000;
    const now = this.clock.now().getTime();
    let removed = 0;
    for (const name of await readdir(this.scratchDir)) {
      const path = join(this.scratchDir, name);
      try {
        if (now - (await lstat(path)).mtimeMs > maxAgeMs) {
          await removeTree(path);
          removed += 1;
        }
      } catch (error) {
        if (!isNotFound(error)) {
          throw error;
        }
      }
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) {
      return false;
    }
    throw error;
  }
}

/** Drops write bits so that renders cannot change a stored artifact by accident. */
async function freeze(root: string): Promise<void> {
  for (const entry of await walkTree(root)) {
    if (entry.type === 'file') {
      await chmod(join(root, entry.path), entry.mode === 0o755 ? 0o555 : 0o444);
    }
  }
  const freezeDirs = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if ((await lstat(path)).isDirectory()) {
        await freezeDirs(path);
      }
    }
    await chmod(dir, 0o555);
  };
  await freezeDirs(root);
}
