import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { createFetchEngine, type FetchEngine } from 'test/e2e/sources/fetch-engine.factory';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';

describe('git fetch limits and untrusted repository content', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;
  const engines: FetchEngine[] = [];

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root });
  });
  afterAll(async () => {
    await server.close();
    await repos.dispose();
    for (const engine of engines) {
      await engine.dispose();
    }
  });

  async function engineWith(
    overrides: Parameters<typeof createFetchEngine>[0],
  ): Promise<FetchEngine> {
    const engine = await createFetchEngine(overrides);
    engines.push(engine);
    return engine;
  }

  function request(repo: TestRepository): GitFetchRequest {
    return {
      url: server.url(repo.path),
      reference: { kind: 'branch', name: 'main' },
      caCertificate: server.caCertificate,
    };
  }

  async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceFetchError);
    return error as SourceFetchError;
  }

  async function expectNoLeftovers(engine: FetchEngine): Promise<void> {
    expect(await readdir(engine.store.scratchDir)).toEqual([]);
    expect((await readdir(join(engine.options.cacheDir, 'artifacts'))).length).toBe(0);
  }

  it('fails on a symlink to the filesystem root under the "fail" policy, leaving nothing behind', async () => {
    const engine = await engineWith({ symlinkPolicy: 'fail' });
    const repo = await repos.createRepository('symlink-root');
    await repo.commit({
      'app.yaml': 'a: 1\n',
      escape: { symlink: '/' },
      'etc/passwd.yaml': { symlink: '../../../../etc/passwd' },
    });
    const error = await failure(engine.fetcher.fetch(request(repo)));
    expect(error.code).toBe(SourceErrorCode.UnsafeSymlink);
    expect(error.message).not.toContain('/etc/passwd');
    await expectNoLeftovers(engine);
  });

  it('removes escaping symlinks under the "remove" policy and keeps the safe ones', async () => {
    const engine = await engineWith({ symlinkPolicy: 'remove' });
    const repo = await repos.createRepository('symlink-remove');
    await repo.commit({
      'base/app.yaml': 'a: 1\n',
      'overlay/app.yaml': { symlink: '../base/app.yaml' },
      escape: { symlink: '/' },
      // Each link alone stays inside; together they reach the parent of the checkout.
      here: { symlink: '.' },
      sneaky: { symlink: 'here/..' },
    });
    const result = await engine.fetcher.fetch(request(repo));
    const names = await readdir(result.artifact.path);
    expect(names.sort()).toEqual(['base', 'here', 'overlay']);
    expect(await readlink(join(result.artifact.path, 'overlay/app.yaml'))).toBe('../base/app.yaml');
    expect(await readFile(join(result.artifact.path, 'overlay/app.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('fails the combined-symlink escape under the "fail" policy too', async () => {
    const engine = await engineWith({ symlinkPolicy: 'fail' });
    const repo = await repos.createRepository('symlink-combined');
    await repo.commit({ here: { symlink: '.' }, sneaky: { symlink: 'here/..' } });
    const error = await failure(engine.fetcher.fetch(request(repo)));
    expect(error).toMatchObject({ code: SourceErrorCode.UnsafeSymlink, path: 'sneaky' });
    await expectNoLeftovers(engine);
  });

  it('refuses a 200 MB file before writing it to disk', async () => {
    const engine = await engineWith({ limits: { maxFileSizeBytes: 16 * 1024 ** 2 } });
    const repo = await repos.createRepository('huge-file');
    await repo.commit({ 'app.yaml': 'a: 1\n', 'blob.bin': { zeros: 200 * 1024 ** 2 } });
    const started = Date.now();
    const error = await failure(engine.fetcher.fetch(request(repo)));
    expect(error).toMatchObject({
      code: SourceErrorCode.LimitExceeded,
      limit: 'fileSize',
      path: 'blob.bin',
    });
    expect(error.retryable).toBe(false);
    expect(Date.now() - started).toBeLessThan(30_000);
    await expectNoLeftovers(engine);
  });

  it('refuses more files than allowed and a repository above the size limit', async () => {
    const many = await repos.createRepository('many-files');
    await many.commit(
      Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.yaml`, `i: ${i}\n`])),
    );
    const fewFiles = await engineWith({ limits: { maxFileCount: 20 } });
    expect(await failure(fewFiles.fetcher.fetch(request(many)))).toMatchObject({
      limit: 'fileCount',
    });

    const big = await repos.createRepository('big-repo');
    await big.commit({ 'a.bin': { zeros: 600_000 }, 'b.bin': { zeros: 600_000 } });
    const small = await engineWith({ limits: { maxRepositorySizeBytes: 1_000_000 } });
    expect(await failure(small.fetcher.fetch(request(big)))).toMatchObject({
      limit: 'repositorySize',
    });
  });

  it('kills a transfer that grows past the transfer limit', async () => {
    const engine = await engineWith({ limits: { maxTransferBytes: 256 * 1024 } });
    const repo = await repos.createRepository('incompressible');
    await repo.commit({ 'random.bin': randomBytes(2 * 1024 * 1024) });
    const error = await failure(engine.fetcher.fetch(request(repo)));
    expect(error).toMatchObject({ code: SourceErrorCode.LimitExceeded, limit: 'repositorySize' });
    await expectNoLeftovers(engine);
  });

  it('stores artifacts read-only with the executable bit preserved', async () => {
    const engine = await engineWith({});
    const repo = await repos.createRepository('modes');
    await repo.commit({
      'run.sh': { content: '#!/bin/sh\n', executable: true },
      'data.txt': 'x\n',
    });
    const result = await engine.fetcher.fetch(request(repo));
    expect((await lstat(join(result.artifact.path, 'run.sh'))).mode & 0o777).toBe(0o555);
    expect((await lstat(join(result.artifact.path, 'data.txt'))).mode & 0o777).toBe(0o444);
  });
});
