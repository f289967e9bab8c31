import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { digestTree, walkTree } from 'src/modules/sources/artifacts/tree-digest';

const dirs: string[] = [];
async function tree(
  files: Record<string, string | { link: string } | { exec: string }>,
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'digest-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    if (typeof content === 'string') {
      await writeFile(join(root, path), content);
    } else if ('link' in content) {
      await symlink(content.link, join(root, path));
    } else {
      await writeFile(join(root, path), content.exec);
      await chmod(join(root, path), 0o755);
    }
  }
  return root;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('digestTree', () => {
  it('is deterministic and independent of creation order', async () => {
    const a = await digestTree(await tree({ 'a.yaml': '1', 'b/c.yaml': '2' }));
    const b = await digestTree(await tree({ 'b/c.yaml': '2', 'a.yaml': '1' }));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ sizeBytes: 2, fileCount: 2 });
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes with content, path, executable bit and symlink target', async () => {
    const base = (await digestTree(await tree({ 'a.sh': 'x' }))).digest;
    expect((await digestTree(await tree({ 'a.sh': 'y' }))).digest).not.toBe(base);
    expect((await digestTree(await tree({ 'b.sh': 'x' }))).digest).not.toBe(base);
    expect((await digestTree(await tree({ 'a.sh': { exec: 'x' } }))).digest).not.toBe(base);
    const link1 = (await digestTree(await tree({ 'a.sh': 'x', l: { link: 'a.sh' } }))).digest;
    const link2 = (await digestTree(await tree({ 'a.sh': 'x', l: { link: './a.sh' } }))).digest;
    expect(link1).not.toBe(link2);
  });

  it('does not confuse a path boundary with content', async () => {
    const a = await digestTree(await tree({ ab: 'c' }));
    const b = await digestTree(await tree({ a: 'bc' }));
    expect(a.digest).not.toBe(b.digest);
  });

  it('lists symlinks without following them', async () => {
    const root = await tree({ 'a.yaml': '1', escape: { link: '/' } });
    expect((await walkTree(root)).map((e) => [e.path, e.type])).toEqual([
      ['a.yaml', 'file'],
      ['escape', 'symlink'],
    ]);
  });
});
