import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { createFetchEngine, type FetchEngine } from 'test/e2e/sources/fetch-engine.factory';
import { isAlive, listProcesses, type ProcessSnapshot } from 'test/e2e/sources/process-listing';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';

const AUTH = { username: 'fleet-bot', password: 'canary-Secret-7f3a91' };
const WRONG = 'canary-Wrong-0b5e22';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceFetchError);
  const text = `${String(error)} ${(error as Error).stack ?? ''} ${JSON.stringify(error)}`;
  for (const secret of [
    AUTH.password,
    WRONG,
    Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64'),
  ]) {
    expect(text).not.toContain(secret);
  }
  return error as SourceFetchError;
}

describe('git fetch failures over HTTPS', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;
  let engine: FetchEngine;
  let repo: TestRepository;

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root, auth: AUTH });
    engine = await createFetchEngine();
    repo = await repos.createRepository('app');
    await repo.commit({ 'app.yaml': 'a: 1\n' });
  });
  afterEach(() => server.clearFaults());
  afterAll(async () => {
    await server.close();
    await repos.dispose();
    // No secret in any argv, environment or stdin handed to a child process.
    for (const call of engine.runner.calls) {
      const seen = JSON.stringify(call);
      expect(seen).not.toContain(AUTH.password);
      expect(seen).not.toContain(WRONG);
      expect(seen).not.toContain(
        Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64'),
      );
    }
    expect(engine.runner.calls.length).toBeGreaterThan(5);
    await engine.dispose();
  });

  function request(overrides: Partial<GitFetchRequest> = {}): GitFetchRequest {
    return {
      url: server.url(repo.path),
      reference: { kind: 'branch', name: 'main' },
      credentials: { kind: 'basic', ...AUTH },
      caCertificate: server.caCertificate,
      ...overrides,
    };
  }

  it('reports wrong credentials as AuthenticationFailed without echoing them', async () => {
    const error = await failure(
      engine.fetcher.fetch(
        request({ credentials: { kind: 'basic', username: AUTH.username, password: WRONG } }),
      ),
    );
    expect(error.code).toBe(SourceErrorCode.AuthenticationFailed);
    expect(error.retryable).toBe(false);
    expect(`${error.message} ${error.stack ?? ''}`).not.toContain(WRONG);
  });

  it('reports missing credentials as AuthenticationFailed without prompting', async () => {
    const error = await failure(engine.fetcher.fetch(request({ credentials: undefined })));
    expect(error.code).toBe(SourceErrorCode.AuthenticationFailed);
  });

  it('accepts a token credential', async () => {
    const result = await engine.fetcher.fetch(
      request({ credentials: { kind: 'token', username: AUTH.username, token: AUTH.password } }),
    );
    expect(result.revision).toMatch(/^main@sha1:/);
  });

  it('reports a closed port as Unreachable', async () => {
    const port = await freePort();
    const error = await failure(
      engine.fetcher.fetch(request({ url: `https://127.0.0.1:${port}/${repo.path}` })),
    );
    expect(error.code).toBe(SourceErrorCode.Unreachable);
    expect(error.retryable).toBe(true);
  });

  it('reports an untrusted certificate as CertificateVerificationFailed, not retried', async () => {
    const error = await failure(engine.fetcher.fetch(request({ caCertificate: undefined })));
    expect(error.code).toBe(SourceErrorCode.CertificateVerificationFailed);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('x509: certificate signed by unknown authority');
  });

  it('reports 429 as RateLimited with the Retry-After delay', async () => {
    server.injectFault({ kind: 'status', status: 429, retryAfter: 42 }, { repo: repo.path });
    const error = await failure(engine.fetcher.fetch(request()));
    expect(error.code).toBe(SourceErrorCode.RateLimited);
    expect(error.retryAfterSeconds).toBe(42);
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain(AUTH.password);
  });

  it('reports 429 on the pack request itself (after a good ls-remote) as RateLimited', async () => {
    await repo.commit({ 'app.yaml': `a: ${Date.now()}\n` });
    server.injectFault(
      { kind: 'status', status: 429, retryAfter: 7 },
      { repo: repo.path, only: 'fetch' },
    );
    const error = await failure(engine.fetcher.fetch(request()));
    expect(error.code).toBe(SourceErrorCode.RateLimited);
    expect(error.retryAfterSeconds).toBe(7);
  });

  it('reports 500 as ServerError', async () => {
    server.injectFault({ kind: 'status', status: 500 }, { repo: repo.path });
    const error = await failure(engine.fetcher.fetch(request()));
    expect(error.code).toBe(SourceErrorCode.ServerError);
  });

  it('kills a hanging fetch at its timeout, with no secret in any process listing meanwhile', async () => {
    server.injectFault({ kind: 'hang' }, { repo: repo.path });
    const started = Date.now();
    const fetching = failure(engine.fetcher.fetch(request({ timeoutSeconds: 3 })));

    const seen: ProcessSnapshot[] = [];
    while (Date.now() - started < 2500) {
      const gitProcesses = (await listProcesses()).filter((p) =>
        p.environ.includes('GITFLEET_ASKPASS_HOST'),
      );
      seen.push(...gitProcesses);
      await sleep(200);
    }
    const error = await fetching;
    expect(error.code).toBe(SourceErrorCode.Timeout);
    expect(Date.now() - started).toBeLessThan(10_000);

    // git and its git-remote-https helper were running, and never carried the secret.
    expect(seen.some((p) => p.cmdline.includes('remote-https'))).toBe(true);
    for (const snapshot of seen) {
      expect(snapshot.cmdline).not.toContain(AUTH.password);
      expect(snapshot.environ).not.toContain(AUTH.password);
    }
    // The whole process group is gone.
    await sleep(200);
    for (const pid of new Set(seen.map((p) => p.pid))) {
      expect(await isAlive(pid)).toBe(false);
    }
  });
});

describe('git fetch over plain HTTP', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root, tls: false });
  });
  afterAll(async () => {
    await server.close();
    await repos.dispose();
  });

  it('is refused unless the configuration allows http, and works when it does', async () => {
    const repo = await repos.createRepository('plain');
    const sha = await repo.commit({ 'a.yaml': 'a: 1\n' });
    const request: GitFetchRequest = {
      url: server.url(repo.path),
      reference: { kind: 'branch', name: 'main' },
    };

    const strict = await createFetchEngine();
    const permissive = await createFetchEngine({ allowHttp: true });
    try {
      expect((await failure(strict.fetcher.fetch(request))).code).toBe(SourceErrorCode.InvalidUrl);
      expect(server.statsFor(repo.path).requests).toBe(0);
      await expect(permissive.fetcher.fetch(request)).resolves.toMatchObject({
        revision: `main@sha1:${sha}`,
      });
    } finally {
      await strict.dispose();
      await permissive.dispose();
    }
  });
});
