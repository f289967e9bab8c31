import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  /** Slash-separated path relative to the tree root. */
  path: string;
  type: 'file' | 'symlink';
  /** 0o644 or 0o755 for files (only the executable bit is kept, like git), 0o120000 for symlinks. */
  mode: number;
  size: number;
}

export interface TreeSummary {
  /** `sha256:<hex>` over the sorted paths, modes and bytes. */
  digest: string;
  sizeBytes: number;
  fileCount: number;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Lists files and symlinks below root without following any symlink. Directories are
 * not entries (git does not track them). Anything else (fifo, socket, device) throws.
 */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const visit = async (relative: string): Promise<void> => {
    const names = await readdir(relative === '' ? root : join(root, relative));
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const stats = await lstat(join(root, path));
      if (stats.isDirectory()) {
        await visit(path);
      } else if (stats.isSymbolicLink()) {
        entries.push({ path, type: 'symlink', mode: 0o120000, size: stats.size });
      } else if (stats.isFile()) {
        entries.push({
          path,
          type: 'file',
          mode: (stats.mode & 0o100) !== 0 ? 0o755 : 0o644,
          size: stats.size,
        });
      } else {
        throw new Error(`unexpected file type at ${path}`);
      }
    }
  };
  await visit('');
  return entries.sort((a, b) => compareBytes(a.path, b.path));
}

/**
 * Deterministic content digest of a tree: for each entry in byte order of its path,
 * "<type> <mode> <size> <path>\0" followed by its bytes (a symlink's bytes are its target).
 */
export async function digestTree(root: string): Promise<TreeSummary> {
  const entries = await walkTree(root);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for (const entry of entries) {
    const absolute = join(root, entry.path);
    if (entry.type === 'symlink') {
      const target = Buffer.from(await readlink(absolute), 'utf8');
      hash.update(`symlink ${entry.mode.toString(8)} ${target.length} ${entry.path}\0`);
      hash.update(target);
      continue;
    }
    hash.update(`file ${entry.mode.toString(8)} ${entry.size} ${entry.path}\0`);
    sizeBytes += entry.size;
    for await (const chunk of createReadStream(absolute)) {
      hash.update(chunk as Buffer);
    }
  }
  return { digest: `sha256:${hash.digest('hex')}`, sizeBytes, fileCount: entries.length };
}
