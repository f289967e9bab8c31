import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { createFetchEngine, type FetchEngine } from 'test/e2e/sources/fetch-engine.factory';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';
import {
  generateSshKey,
  GitSshServer,
  type SshKeyPair,
} from 'test/support/git-server/git-ssh-server';

function keyBody(privateKey: string): string {
  // A line from the middle of the key: enough to detect any leak of it.
  const lines = privateKey.trim().split('\n');
  return lines[Math.floor(lines.length / 2)] ?? privateKey;
}

describe('git fetch over SSH (OpenSSH server)', () => {
  let repos: GitRepositories;
  let server: GitSshServer;
  let engine: FetchEngine;
  let strangerKey: SshKeyPair;
  const errors: SourceFetchError[] = [];

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitSshServer.start({ root: repos.root });
    engine = await createFetchEngine();
    strangerKey = await generateSshKey('stranger');
  });
  afterAll(async () => {
    for (const call of engine.runner.calls) {
      const seen = JSON.stringify(call);
      expect(seen).not.toContain(keyBody(server.clientKey.privateKey));
      expect(seen).not.toContain(keyBody(strangerKey.privateKey));
    }
    for (const error of errors) {
      expect(`${error.message} ${error.stack ?? ''}`).not.toContain(
        keyBody(server.clientKey.privateKey),
      );
    }
    await server.stop();
    await repos.dispose();
    await engine.dispose();
  });

  function request(
    repo: TestRepository,
    reference: GitFetchRequest['reference'],
    overrides: Partial<GitFetchRequest> = {},
  ): GitFetchRequest {
    return {
      url: server.url(repo.path),
      reference,
      credentials: {
        kind: 'ssh',
        privateKey: server.clientKey.privateKey,
        knownHosts: server.knownHosts,
      },
      ...overrides,
    };
  }

  async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceFetchError);
    errors.push(error as SourceFetchError);
    return error as SourceFetchError;
  }

  it('follows a moving branch and fetches an unchanged revision only once', async () => {
    const repo = await repos.createRepository('ssh-branch');
    const first = await repo.commit({ 'app.yaml': 'v: 1\n' });
    const a = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(a.revision).toBe(`main@sha1:${first}`);
    expect(await server.uploadPackSessions(repo.path)).toBe(2); // ls-remote + fetch

    const same = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(same.fetched).toBe(false);
    expect(await server.uploadPackSessions(repo.path)).toBe(3); // ls-remote only

    const second = await repo.commit({ 'app.yaml': 'v: 2\n' });
    const b = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' }));
    expect(b.revision).toBe(`main@sha1:${second}`);
    expect(await readFile(join(b.artifact.path, 'app.yaml'), 'utf8')).toBe('v: 2\n');
  });

  it('fetches a tag, a semver range (1.10.0 over 1.9.0) and a pinned commit', async () => {
    const repo = await repos.createRepository('ssh-refs');
    const shas: Record<string, string> = {};
    for (const version of ['1.9.0', '1.10.0', '2.0.0']) {
      shas[version] = await repo.commit({ 'version.txt': version });
      await repo.tag(`v${version}`, shas[version], { annotated: true });
    }
    const tag = await engine.fetcher.fetch(request(repo, { kind: 'tag', name: 'v1.9.0' }));
    expect(tag.revision).toBe(`v1.9.0@sha1:${shas['1.9.0']}`);

    const range = await engine.fetcher.fetch(
      request(repo, { kind: 'semver', range: '~1 || <1.0.0' }),
    );
    expect(range.revision).toBe(`v1.10.0@sha1:${shas['1.10.0']}`);
    expect(await readFile(join(range.artifact.path, 'version.txt'), 'utf8')).toBe('1.10.0');

    const pinned = await engine.fetcher.fetch(
      request(repo, { kind: 'commit', sha: shas['1.9.0'] }),
    );
    expect(pinned.revision).toBe(`sha1:${shas['1.9.0']}`);
  });

  it('handles a force-push and reports a deleted branch as RefNotFound, keeping the last artifact', async () => {
    const repo = await repos.createRepository('ssh-rewrite');
    await repo.commit({ 'a.txt': 'a\n' }, { branch: 'release' });
    const before = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'release' }));
    const rewritten = await repo.forcePush('release', { 'b.txt': 'b\n' });
    const after = await engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'release' }));
    expect(after.revision).toBe(`release@sha1:${rewritten}`);

    await repo.deleteBranch('release');
    const error = await failure(
      engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'release' })),
    );
    expect(error.code).toBe(SourceErrorCode.RefNotFound);
    expect(await engine.store.lookup(after.artifact.sourceKey, after.revision)).toBeDefined();
    expect(await engine.store.lookup(before.artifact.sourceKey, before.revision)).toBeDefined();
  });

  it('refuses an unknown host key as HostKeyMismatch', async () => {
    const repo = await repos.createRepository('ssh-hostkey');
    await repo.commit({ 'a.txt': 'a\n' });
    const otherHost = await generateSshKey('other-host');
    const knownHosts = `[127.0.0.1]:${server.port} ${otherHost.publicKey.split(' ').slice(0, 2).join(' ')}\n`;
    const error = await failure(
      engine.fetcher.fetch(
        request(
          repo,
          { kind: 'branch', name: 'main' },
          {
            credentials: { kind: 'ssh', privateKey: server.clientKey.privateKey, knownHosts },
          },
        ),
      ),
    );
    expect(error.code).toBe(SourceErrorCode.HostKeyMismatch);
    expect(await server.uploadPackSessions(repo.path)).toBe(0);
  });

  it('refuses a key the server does not know as AuthenticationFailed', async () => {
    const repo = await repos.createRepository('ssh-wrong-key');
    await repo.commit({ 'a.txt': 'a\n' });
    const error = await failure(
      engine.fetcher.fetch(
        request(
          repo,
          { kind: 'branch', name: 'main' },
          {
            credentials: {
              kind: 'ssh',
              privateKey: strangerKey.privateKey,
              knownHosts: server.knownHosts,
            },
          },
        ),
      ),
    );
    expect(error.code).toBe(SourceErrorCode.AuthenticationFailed);
    expect(error.message).not.toContain(keyBody(strangerKey.privateKey));
  });

  it('requires known_hosts for SSH', async () => {
    const repo = await repos.createRepository('ssh-no-known-hosts');
    const error = await failure(
      engine.fetcher.fetch(
        request(
          repo,
          { kind: 'branch', name: 'main' },
          {
            credentials: { kind: 'ssh', privateKey: server.clientKey.privateKey, knownHosts: '' },
          },
        ),
      ),
    );
    expect(error.code).toBe(SourceErrorCode.InvalidCredentials);
  });

  it('reports a missing repository as RefNotFound and a closed port as Unreachable', async () => {
    const repo = { path: 'does-not-exist.git' } as TestRepository;
    const missing = await failure(
      engine.fetcher.fetch(request(repo, { kind: 'branch', name: 'main' })),
    );
    expect(missing.code).toBe(SourceErrorCode.RefNotFound);

    const closed = await failure(
      engine.fetcher.fetch(
        request(
          repo,
          { kind: 'branch', name: 'main' },
          { url: `ssh://${server.user}@127.0.0.1:1/x.git` },
        ),
      ),
    );
    expect(closed.code).toBe(SourceErrorCode.Unreachable);
  });
});
