import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChartArchive, readChartFiles } from './chart-archive';
import { defaultRenderingOptions } from './rendering.options';

const run = promisify(execFile);
const limits = { maxFileBytes: 1024, maxFiles: 50, maxArtifactBytes: 64 * 1024 };

interface Entry {
  name: string;
  data?: string;
  type?: string;
  linkname?: string;
}

/** A minimal ustar writer for archives `helm package` would never make. */
function tarGz(entries: readonly Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write(entry.type ?? '0', 156);
    header.write(entry.linkname ?? '', 157, 100);
    header.write('ustar\u000000', 257, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) {
      sum += byte;
    }
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe('chart archives: values files read by chart-relative path', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitfleet-chart-archive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function archive(name: string, entries: readonly Entry[]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, tarGz(entries));
    return path;
  }

  it('reads files of a `helm package` archive in the order asked, long (PAX) names included', async () => {
    const chart = join(dir, 'src', 'web');
    // Go's archive/tar: a ustar name prefix for the first, a PAX header for the second.
    const prefixed = `${'deep/'.repeat(40)}values-prefixed.yaml`;
    const long = `${'deep/'.repeat(60)}values-long.yaml`;
    await mkdir(join(chart, 'templates'), { recursive: true });
    await mkdir(join(chart, long, '..'), { recursive: true });
    await writeFile(join(chart, prefixed), 'a: prefixed\n');
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 1.0.0\n');
    await writeFile(join(chart, 'values.yaml'), 'a: chart\n');
    await writeFile(join(chart, 'values-prod.yaml'), 'a: prod\n');
    await writeFile(join(chart, 'envs-qa.yaml'), 'a: qa\n');
    await writeFile(join(chart, long), 'a: long\n');
    const helm = defaultRenderingOptions().helmPath;
    await run(helm, ['package', chart, '--destination', dir], {
      env: { HOME: dir, PATH: '/usr/bin:/bin' },
    });
    const files = await readChartFiles(
      join(dir, 'web-1.0.0.tgz'),
      ['values-prod.yaml', './envs-qa.yaml', long, prefixed],
      limits,
    );
    expect(files.map((f) => f.toString())).toEqual([
      'a: prod\n',
      'a: qa\n',
      'a: long\n',
      'a: prefixed\n',
    ]);
  });

  it.each([
    ['../values.yaml', 'PathEscapesArtifact', 'must stay inside the chart'],
    ['templates/../../x.yaml', 'PathEscapesArtifact', 'must stay inside the chart'],
    ['/etc/passwd', 'PathEscapesArtifact', 'must be a relative path inside the chart'],
    ['missing.yaml', 'InvalidInput', 'does not exist in chart app-1.0.0.tgz'],
    ['templates', 'InvalidInput', 'is not a regular file in chart app-1.0.0.tgz'],
    ['link.yaml', 'InvalidInput', 'is not a regular file in chart app-1.0.0.tgz'],
    ['big.yaml', 'LimitExceeded', 'larger than 1024 bytes'],
  ])('refuses %s (%s)', async (path, code, message) => {
    const file = await archive('app-1.0.0.tgz', [
      { name: 'app/Chart.yaml', data: 'name: app\n' },
      { name: 'app/templates/', type: '5' },
      { name: 'app/link.yaml', type: '2', linkname: '/etc/passwd' },
      { name: 'app/big.yaml', data: 'x'.repeat(2000) },
      // What a hostile archive may carry: never a match for a chart-relative path.
      { name: 'app/../x.yaml', data: 'escaped: true\n' },
      { name: 'x.yaml', data: 'top: true\n' },
    ]);
    await expect(readChartFiles(file, [path], limits)).rejects.toMatchObject({
      code,
      status: code === 'InvalidInput' ? 400 : 422,
      message: expect.stringContaining(message),
    });
  });

  it('bounds the uncompressed size and the entry count, and refuses what is not a tar', async () => {
    const bomb = await archive('bomb-1.0.0.tgz', [
      { name: 'bomb/a.yaml', data: '0'.repeat(1000) },
      ...Array.from({ length: 80 }, (_, i) => ({ name: `bomb/f${i}`, data: '1'.repeat(900) })),
      { name: 'bomb/values-prod.yaml', data: 'a: 1\n' },
    ]);
    await expect(readChartFiles(bomb, ['values-prod.yaml'], limits)).rejects.toMatchObject({
      code: 'LimitExceeded',
    });
    await expect(
      readChartFiles(bomb, ['values-prod.yaml'], { ...limits, maxArtifactBytes: 1024 ** 2 }),
    ).rejects.toMatchObject({ code: 'LimitExceeded', message: expect.stringContaining('entries') });
    const junk = join(dir, 'junk-1.0.0.tgz');
    await writeFile(junk, gzipSync(Buffer.from('not a tar archive at all'.repeat(40))));
    await expect(readChartFiles(junk, ['values.yaml'], limits)).rejects.toMatchObject({
      code: 'RenderFailed',
      message: expect.stringContaining('not a valid archive'),
    });
  });

  it('accepts only a chart archive as the chart of a Helm repository source', async () => {
    const bare = join(dir, 'bare');
    await mkdir(join(bare, 'web'), { recursive: true });
    await writeFile(join(bare, 'web-1.0.0.tgz'), tarGz([]));
    // Files beside the archive do not matter: the flag, not the artifact's shape, decides.
    await writeFile(join(bare, 'values-prod.yaml'), 'a: 1\n');
    await expect(
      checkChartArchive(join(bare, 'web-1.0.0.tgz'), 'web-1.0.0.tgz'),
    ).resolves.toBeUndefined();
    await expect(checkChartArchive(join(bare, 'web'), 'web')).rejects.toMatchObject({
      code: 'InvalidInput',
      message: 'chart "web" of a Helm repository must be a chart archive (.tgz)',
    });
    await expect(
      checkChartArchive(join(bare, 'values-prod.yaml'), 'values-prod.yaml'),
    ).rejects.toMatchObject({ code: 'InvalidInput' });
  });
});
