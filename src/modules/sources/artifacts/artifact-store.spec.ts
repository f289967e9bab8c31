import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import type { Clock } from 'src/modules/sources/ports/clock';
import { defaultSourcesOptions } from 'src/modules/sources/sources.options';

class FakeClock implements Clock {
  time = new Date('2026-01-01T00:00:00Z');
  now(): Date {
    return new Date(this.time);
  }
  tick(seconds: number): void {
    this.time = new Date(this.time.getTime() + seconds * 1000);
  }
}

describe('ArtifactStore', () => {
  let cacheDir: string;
  let clock: FakeClock;
  let sut: ArtifactStore;

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'store-'));
    clock = new FakeClock();
    sut = new ArtifactStore(defaultSourcesOptions({ cacheDir, maxCacheBytes: 1000 }), clock);
  });
  afterEach(async () => {
    await sut.gc({ maxTotalBytes: 0 });
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function staged(files: Record<string, string>): Promise<string> {
    const dir = await sut.createScratchDir('test');
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), content);
    }
    return dir;
  }

  it('stores a revision content-addressed and finds it again', async () => {
    const artifact = await sut.commit(
      'src',
      'main@sha1:' + 'a'.repeat(40),
      await staged({ 'a.yaml': 'hello' }),
    );
    expect(artifact.path).toBe(join(cacheDir, 'artifacts', artifact.digest.slice(7)));
    expect(artifact).toMatchObject({
      sizeBytes: 5,
      fileCount: 1,
      revision: 'main@sha1:' + 'a'.repeat(40),
    });
    expect(await readFile(join(artifact.path, 'a.yaml'), 'utf8')).toBe('hello');
    expect(await sut.lookup('src', artifact.revision)).toMatchObject({
      digest: artifact.digest,
      path: artifact.path,
    });
    expect(await sut.lookup('other-source', artifact.revision)).toBeUndefined();
    expect(await readdir(sut.scratchDir)).toEqual([]);
  });

  it('shares one directory between revisions with the same content', async () => {
    const a = await sut.commit(
      'src',
      'main@sha1:' + 'a'.repeat(40),
      await staged({ 'a.yaml': 'same' }),
    );
    const b = await sut.commit(
      'src',
      'v1@sha1:' + 'a'.repeat(40),
      await staged({ 'a.yaml': 'same' }),
    );
    expect(b.path).toBe(a.path);
    expect(
      (await readdir(join(cacheDir, 'artifacts'))).filter((n) => !n.endsWith('.json')),
    ).toHaveLength(1);
  });

  it('collects least recently used artifacts above the size bound, keeping those in use', async () => {
    const old = await sut.commit('s', 'r1', await staged({ f: 'x'.repeat(400) }));
    clock.tick(10);
    const kept = await sut.commit('s', 'r2', await staged({ f: 'y'.repeat(400) }));
    clock.tick(10);
    const leased = await sut.commit('s', 'r3', await staged({ f: 'z'.repeat(400) }));
    clock.tick(10);
    const recent = await sut.commit('s', 'r4', await staged({ f: 'w'.repeat(400) }));
    const lease = sut.acquire(leased.digest);

    const result = await sut.gc({ keep: [kept.digest], maxTotalBytes: 1200 });

    expect(result.removedDigests).toEqual([old.digest]);
    expect(result.totalBytes).toBe(1200);
    expect(await sut.lookup('s', 'r1')).toBeUndefined();
    expect(await sut.lookup('s', 'r2')).toBeDefined();
    expect(await sut.lookup('s', 'r3')).toBeDefined();
    expect(await sut.lookup('s', 'r4')).toMatchObject({ path: recent.path });

    // Still above the bound, but what is kept or leased survives.
    clock.tick(10);
    await sut.lookup('s', 'r4');
    const pinned = await sut.gc({ keep: [kept.digest], maxTotalBytes: 0 });
    expect(pinned.removedDigests).toEqual([recent.digest]);

    lease.release();
    const released = await sut.gc({ keep: [kept.digest], maxTotalBytes: 0 });
    expect(released.removedDigests).toEqual([leased.digest]);
    expect(await sut.lookup('s', 'r2')).toBeDefined();
  });

  it('treats a lookup as a use for GC ordering, to the minute', async () => {
    const first = await sut.commit('s', 'r1', await staged({ f: 'x'.repeat(600) }));
    clock.tick(10);
    const second = await sut.commit('s', 'r2', await staged({ f: 'y'.repeat(600) }));
    clock.tick(10);
    // Used again within the minute it was stored: not worth a write, r1 is still the older.
    await sut.lookup('s', 'r1');
    clock.tick(60);
    await sut.lookup('s', 'r1');
    const result = await sut.gc();
    expect(result.removedDigests).toEqual([second.digest]);
    expect(await sut.totalBytes()).toBe(first.sizeBytes);
  });

  it('does not rewrite the last-use mark on every lookup', async () => {
    const large = await sut.commit('s', 'large', await staged({ f: 'y'.repeat(600) }));
    clock.tick(5);
    await sut.commit('s', 'small', await staged({ f: 'x' }));
    clock.tick(25);
    // 30 s after it was stored: the mark keeps saying "stored", older than `small`.
    await sut.lookup('s', 'large');
    const result = await sut.gc({ maxTotalBytes: 600 });
    expect(result.removedDigests).toEqual([large.digest]);
  });

  it('removes scratch directories left behind by a crashed process, not fresh ones', async () => {
    const stale = await sut.createScratchDir('fetch');
    await writeFile(join(stale, 'identity'), 'key');
    await utimes(stale, clock.now(), clock.now());
    clock.tick(2 * 3600);
    const fresh = await sut.createScratchDir('fetch');
    await utimes(fresh, clock.now(), clock.now());
    const result = await sut.gc();
    expect(result.removedScratchDirs).toBe(1);
    expect(await readdir(sut.scratchDir)).toEqual([fresh.split('/').pop()]);
  });
});
