import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { checkRelativePath } from './artifact-fs';
import { RenderingError, RenderingErrorCode } from './rendering.errors';

export interface ChartArchiveLimits {
  /** Max size of one file read out of the chart. */
  readonly maxFileBytes: number;
  /** Max entries in the archive. */
  readonly maxFiles: number;
  /** Max uncompressed bytes of the whole archive (a gzip bomb stops here). */
  readonly maxArtifactBytes: number;
}

const BLOCK = 512;

/**
 * Refuses a chart said to come from a Helm repository that is not a chart archive
 * (`.tgz` regular file): its values files could not be looked up inside it.
 */
export async function checkChartArchive(chartReal: string, chartRel: string): Promise<void> {
  if (!/\.tgz$/i.test(chartReal) || !(await stat(chartReal)).isFile()) {
    throw new RenderingError(
      RenderingErrorCode.InvalidInput,
      `chart "${chartRel}" of a Helm repository must be a chart archive (.tgz)`,
    );
  }
}

/**
 * Reads files out of a chart archive by chart-relative path (`values-prod.yaml`,
 * `envs/prod.yaml`), naming entries as Helm's loader does: the first path segment
 * (the chart's directory) dropped. Paths must stay inside the chart; only regular
 * files are read, each within the size cap; the archive is streamed, never unpacked.
 * Results come in the order asked; a path missing from the chart fails the render.
 */
export async function readChartFiles(
  archive: string,
  paths: readonly string[],
  limits: ChartArchiveLimits,
): Promise<Buffer[]> {
  const wanted = new Map<string, string>();
  for (const path of paths) {
    const rel = checkRelativePath(path, 'values file', 'the chart');
    if (rel === '') {
      throw new RenderingError(RenderingErrorCode.InvalidInput, 'a values file must name a file');
    }
    wanted.set(rel, path);
  }
  const found = new Map<string, Buffer>();
  const chart = basename(archive);
  await walkTar(archive, limits, (entry) => {
    const name = chartRelative(entry.name);
    if (name === undefined || !wanted.has(name)) {
      return false;
    }
    if (entry.type !== 'file') {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        `values file "${name}" is not a regular file in chart ${chart}`,
      );
    }
    if (entry.size > limits.maxFileBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `values file "${name}" in chart ${chart} is larger than ${limits.maxFileBytes} bytes`,
      );
    }
    // A later entry of the same name wins, as when the archive is unpacked.
    return (data) => found.set(name, data);
  });
  return [...wanted.keys()].map((name) => {
    const data = found.get(name);
    if (data === undefined) {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        `values file "${name}" does not exist in chart ${chart}`,
      );
    }
    return data;
  });
}

/** Helm's name for an archive entry: without the chart directory; undefined when it escapes. */
function chartRelative(entryName: string): string | undefined {
  const delimiter = entryName.includes('\\') ? '\\' : '/';
  const rest = entryName.split(delimiter).slice(1).join('/');
  if (rest === '' || rest.startsWith('/')) {
    return undefined;
  }
  const clean = posix.normalize(rest).replace(/\/+$/, '');
  return clean === '.' || clean === '..' || clean.startsWith('../') ? undefined : clean;
}

interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
}

/** `false`: skip the entry's data; a function: called with the data once read. */
type EntryVisitor = (entry: TarEntry) => false | ((data: Buffer) => void);

/**
 * Streams a gzipped tar (ustar, PAX and GNU long names, as Go's archive/tar writes
 * them for `helm package`), holding at most one header and one wanted file in memory.
 */
async function walkTar(
  archive: string,
  limits: ChartArchiveLimits,
  visit: EntryVisitor,
): Promise<void> {
  const chart = basename(archive);
  const invalid = (why: string): RenderingError =>
    new RenderingError(
      RenderingErrorCode.RenderFailed,
      `chart ${chart} is not a valid archive: ${why}`,
    );
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  let entries = 0;
  let ended = false;
  // The data of the current entry: bytes still to skip or to collect, then padding.
  let remaining = 0;
  let padding = 0;
  let collect: ((data: Buffer) => void) | undefined;
  let collected: Buffer[] = [];
  // PAX or GNU headers that describe the next entry.
  let nextName: string | undefined;
  let nextSize: number | undefined;
  let meta: 'pax' | 'longname' | undefined;

  const onData = (data: Buffer): void => {
    if (meta === 'pax') {
      for (const [key, value] of parsePax(data)) {
        if (key === 'path') {
          nextName = value;
        } else if (key === 'size' && /^\d+$/.test(value)) {
          nextSize = Number(value);
        }
      }
    } else if (meta === 'longname') {
      nextName = data.toString('utf8').replace(/\0.*$/s, '');
    } else {
      collect?.(data);
    }
    meta = undefined;
    collect = undefined;
  };

  const header = (block: Buffer): void => {
    if (block.every((byte) => byte === 0)) {
      ended = true;
      return;
    }
    if (!checksumMatches(block)) {
      throw invalid('bad header checksum');
    }
    entries += 1;
    if (entries > limits.maxFiles) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `chart ${chart} has more than ${limits.maxFiles} entries`,
      );
    }
    const typeflag = String.fromCharCode(block[156] ?? 0);
    const size = nextSize ?? parseOctal(block.subarray(124, 136));
    if (size === undefined) {
      throw invalid('bad entry size');
    }
    remaining = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    collected = [];
    meta = undefined;
    collect = undefined;
    if (typeflag === 'x' || typeflag === 'L') {
      if (size > limits.maxFileBytes) {
        throw invalid('oversized extended header');
      }
      meta = typeflag === 'x' ? 'pax' : 'longname';
    } else if (typeflag !== 'g' && typeflag !== 'K') {
      entry(block, typeflag, size);
    }
    if (size === 0) {
      onData(Buffer.alloc(0));
    }
  };

  const entry = (block: Buffer, typeflag: string, size: number): void => {
    const ustar = block.subarray(257, 263).toString('latin1') === 'ustar\0';
    const prefix = ustar ? cString(block.subarray(345, 500)) : '';
    const rawName = cString(block.subarray(0, 100));
    const name = nextName ?? (prefix === '' ? rawName : `${prefix}/${rawName}`);
    nextName = undefined;
    nextSize = undefined;
    const type =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? 'file'
        : typeflag === '5'
          ? 'directory'
          : 'other';
    const visitor = visit({ name, type, size });
    collect = visitor === false ? undefined : visitor;
  };

  const gunzip = createGunzip();
  const input = createReadStream(archive).pipe(gunzip);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limits.maxArtifactBytes) {
        throw new RenderingError(
          RenderingErrorCode.LimitExceeded,
          `chart ${chart} is larger than ${limits.maxArtifactBytes} bytes uncompressed`,
        );
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (!ended) {
        if (remaining > 0) {
          const take = Math.min(remaining, pending.length);
          if (take === 0) {
            break;
          }
          if (collect !== undefined || meta !== undefined) {
            collected.push(pending.subarray(0, take));
          }
          pending = pending.subarray(take);
          remaining -= take;
          if (remaining === 0) {
            onData(Buffer.concat(collected));
            collected = [];
          }
          continue;
        }
        if (padding > 0) {
          const take = Math.min(padding, pending.length);
          if (take === 0) {
            break;
          }
          pending = pending.subarray(take);
          padding -= take;
          continue;
        }
        if (pending.length < BLOCK) {
          break;
        }
        const block = pending.subarray(0, BLOCK);
        pending = pending.subarray(BLOCK);
        header(block);
      }
      if (ended) {
        break;
      }
    }
  } catch (error) {
    if (error instanceof RenderingError) {
      throw error;
    }
    throw invalid((error as { code?: string }).code ?? 'unreadable');
  } finally {
    input.destroy();
  }
  if (!ended && (remaining > 0 || padding > 0 || pending.length > 0)) {
    throw invalid('truncated');
  }
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

function parseOctal(bytes: Buffer): number | undefined {
  // Base-256 sizes (high bit set) mean entries of 8 GiB and more: never a chart.
  if (((bytes[0] ?? 0) & 0x80) !== 0) {
    return undefined;
  }
  const text = bytes
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim();
  return text === '' ? 0 : /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : undefined;
}

function checksumMatches(block: Buffer): boolean {
  const expected = parseOctal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  }
  return expected === sum;
}

/** PAX records: `<length> <key>=<value>\n`. */
function parsePax(data: Buffer): Array<[string, string]> {
  const records: Array<[string, string]> = [];
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number(data.subarray(offset, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      break;
    }
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) {
      records.push([record.slice(0, eq), record.slice(eq + 1)]);
    }
    offset += length;
  }
  return records;
}
