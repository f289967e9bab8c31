import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { createFetchEngine, type FetchEngine } from 'test/e2e/sources/fetch-engine.factory';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';

const AUTH = { username: 'fleet-bot', password: 'https-canary-Pa55word' };

describe('git fetch over HTTPS: references and revisions', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;
  let engine: FetchEngine;

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root, auth: AUTH });
    engine = await createFetchEngine();
  });
  afterAll(async () => {
    await server.close();
    await repos.dispose();
    await engine.dispose();
  });

  function request(repo: TestRepository, reference: GitFetchRequest['reference']): GitFetchRequest {
    return {
      url: server.url(repo.path),
      reference,
      credentials: { kind: 'basic', ...AUTH },
      caCertificate: server.caCertificate,
    };
  }

  it('gives a new revision when the branch moves, and reuses the artifact of an unchanged one', async () => {
    const repo = await repos.createRepository('branch-moves');
    const first = await repo.commit({ 'app.yaml': 'replicas: 1\n' });

    const a = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(a.revision).toBe(`main@sha1:${first}`);
    expect(a.fetched).toBe(true);
    expect(await readFile(join(a.artifact.path, 'app.yaml'), 'utf8')).toBe('replicas: 1\n');
    expect(a.artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.artifact.fileCount).toBe(1);
    expect(a.artifact.sizeBytes).toBe(12);

    const again = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(again.fetched).toBe(false);
    expect(again.artifact.path).toBe(a.artifact.path);
    expect(server.statsFor(repo.path).fetches).toBe(1);

    const second = await repo.commit({ 'app.yaml': 'replicas: 2\n' });
    const b = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(b.revision).toBe(`main@sha1:${second}`);
    expect(b.artifact.digest).not.toBe(a.artifact.digest);
    expect(await readFile(join(b.artifact.path, 'app.yaml'), 'utf8')).toBe('replicas: 2\n');
    expect(server.statsFor(repo.path).fetches).toBe(2);
  });

  it('fetches one revision once however many callers ask at the same time', async () => {
    const repo = await repos.createRepository('fan-in');
    await repo.commit({ 'a.yaml': 'a: 1\n' });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' })),
      ),
    );
    expect(new Set(results.map((result) => result.revision)).size).toBe(1);
    expect(server.statsFor(repo.path).fetches).toBe(1);
    // And later callers of the same revision do not fetch either.
    await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(server.statsFor(repo.path).fetches).toBe(1);
  });

  it('fetches lightweight and annotated tags', async () => {
    const repo = await repos.createRepository('tags');
    const one = await repo.commit({ 'v.txt': 'one\n' });
    await repo.tag('light', one);
    const two = await repo.commit({ 'v.txt': 'two\n' });
    await repo.tag('v1.2.0', two, { annotated: true });

    const light = await engine.fetcher.fetch(request(repo, { kind: 'tag', name: 'light' }));
    expect(light.revision).toBe(`light@sha1:${one}`);
    const annotated = await engine.fetcher.fetch(request(repo, { kind: 'tag', name: 'v1.2.0' }));
    expect(annotated.revision).toBe(`v1.2.0@sha1:${two}`);
    expect(await readFile(join(annotated.artifact.path, 'v.txt'), 'utf8')).toBe('two\n');
  });

  it('resolves a semver range to the highest matching tag (1.10.0 over 1.9.0)', async () => {
    const repo = await repos.createRepository('semver');
    const shas: Record<string, string> = {};
    for (const version of ['v1.2.0', 'v1.9.0', 'v1.10.0', 'v2.0.0', 'v1.11.0-rc.1']) {
      shas[version] = await repo.commit({ 'version.txt': `${version}\n` });
      await repo.tag(version, shas[version], { annotated: version === 'v1.10.0' });
    }
    await repo.tag('not-a-version', shas['v2.0.0']);

    const result = await engine.fetcher.fetch(request(repo, { kind: 'semver', range: '^1.0.0' }));
    expect(result.revision).toBe(`v1.10.0@sha1:${shas['v1.10.0']}`);
    expect(await readFile(join(result.artifact.path, 'version.txt'), 'utf8')).toBe('v1.10.0\n');

    const none = engine.fetcher.fetch(request(repo, { kind: 'semver', range: '>=3.0.0' }));
    await expect(none).rejects.toMatchObject({ code: SourceErrorCode.RefNotFound });
  });

  it('fetches a pinned commit, and never contacts the server again for it', async () => {
    const repo = await repos.createRepository('pinned');
    const old = await repo.commit({ 'f.txt': 'old\n' });
    await repo.commit({ 'f.txt': 'new\n' });

    const pinned = await engine.fetcher.fetch(request(repo, { kind: 'commit', sha: old }));
    expect(pinned.revision).toBe(`sha1:${old}`);
    expect(await readFile(join(pinned.artifact.path, 'f.txt'), 'utf8')).toBe('old\n');
    const requests = server.statsFor(repo.path).requests;

    const again = await engine.fetcher.fetch(request(repo, { kind: 'commit', sha: old }));
    expect(again.fetched).toBe(false);
    expect(server.statsFor(repo.path).requests).toBe(requests);

    const missing = engine.fetcher.fetch(request(repo, { kind: 'commit', sha: 'f'.repeat(40) }));
    await expect(missing).rejects.toMatchObject({ code: SourceErrorCode.RefNotFound });
  });

  it('follows a force-pushed branch to its rewritten history', async () => {
    const repo = await repos.createRepository('force-push');
    await repo.commit({ 'f.txt': 'one\n' });
    await repo.commit({ 'f.txt': 'two\n' });
    const before = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));

    const rewritten = await repo.forcePush('main', { 'g.txt': 'rewritten\n' });
    const after = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(after.revision).toBe(`main@sha1:${rewritten}`);
    expect(after.revision).not.toBe(before.revision);
    expect(await readFile(join(after.artifact.path, 'g.txt'), 'utf8')).toBe('rewritten\n');
    await expect(stat(join(after.artifact.path, 'f.txt'))).rejects.toThrow();
  });

  it('reports a deleted branch as RefNotFound and keeps the last artifact', async () => {
    const repo = await repos.createRepository('deleted-branch');
    await repo.commit({ 'main.txt': 'main\n' });
    await repo.commit({ 'feature.txt': 'feature\n' }, { branch: 'feature' });
    const last = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'feature' }));

    await repo.deleteBranch('feature');
    const error = await engine.fetcher
      .fetch(request(repo, { kind: 'branch', name: 'feature' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceFetchError);
    expect(error).toMatchObject({ code: SourceErrorCode.RefNotFound, retryable: false });

    const kept = await engine.store.lookup(last.artifact.sourceKey, last.revision);
    expect(kept?.path).toBe(last.artifact.path);
    expect(await readFile(join(last.artifact.path, 'feature.txt'), 'utf8')).toBe('feature\n');
  });

  it('keeps ignored files out of the artifact', async () => {
    const repo = await repos.createRepository('ignored');
    await repo.commit({
      'deploy/app.yaml': 'kind: Deployment\n',
      'deploy/secret.env': 'TOKEN=x\n',
      'docs/readme.md': '# docs\n',
    });
    const result = await engine.fetcher.fetch({
      ...request(repo, { kind: 'branch', name: 'main' }),
      ignore: ['docs/', '*.env'],
    });
    expect(result.artifact.fileCount).toBe(1);
    expect(await readFile(join(result.artifact.path, 'deploy/app.yaml'), 'utf8')).toBe(
      'kind: Deployment\n',
    );
    await expect(stat(join(result.artifact.path, 'docs'))).rejects.toThrow();
  });

  it('resolves the revision without fetching', async () => {
    const repo = await repos.createRepository('resolve-only');
    const sha = await repo.commit({ 'a.txt': 'a\n' });
    const resolved = await engine.fetcher.resolve(request(repo, { kind: 'branch', name: 'main' }));
    expect(resolved).toEqual({ revision: `main@sha1:${sha}`, commit: sha, refName: 'main' });
    expect(server.statsFor(repo.path).fetches).toBe(0);
  });
});
