import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppProcess, startAppProcess } from 'test/support/app/app-process';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';

const ADMIN_TOKEN = `admin-${randomBytes(24).toString('hex')}`;
const AUTH = { username: 'fleet-bot', password: `right-canary-${randomBytes(8).toString('hex')}` };
const WRONG_PASSWORD = `wrong-canary-${randomBytes(8).toString('hex')}`;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface SourceBody {
  id: string;
  name: string;
  hasCredentials: boolean;
  credentialsKind?: string;
  status: {
    conditions: Condition[];
    revision: string | null;
    artifactDigest: string | null;
    artifactSizeBytes: number | null;
    failureCount: number;
  };
}

describe('sources API: the built service, PostgreSQL and a real git server', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;
  let app: AppProcess;
  let databaseName: string;
  let databaseUrl: string;
  let tenant: string;

  async function api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; text: string }> {
    const res = await fetch(`${app.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function createTenant(name: string): Promise<void> {
    const created = await api('POST', '/tenants', { name });
    if (created.status === 201) {
      return;
    }
    if (created.status !== 404) {
      throw new Error(`creating tenant ${name} failed: ${created.status} ${created.text}`);
    }
    // No tenant API in this build: the registry row is all sources need.
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('INSERT INTO tenant (id, name) VALUES ($1, $2)', [randomUUID(), name]);
    } finally {
      await client.end();
    }
  }

  function gitSource(name: string, repo: TestRepository, extra: Record<string, unknown> = {}) {
    return {
      name,
      kind: 'git',
      url: server.url(repo.path),
      reference: { branch: 'main' },
      intervalSeconds: 600,
      timeoutSeconds: 30,
      caCertificate: server.caCertificate,
      credentials: { kind: 'basic', ...AUTH },
      ...extra,
    };
  }

  async function waitFor(
    name: string,
    predicate: (s: SourceBody) => boolean,
    timeoutMs = 30_000,
  ): Promise<SourceBody> {
    const deadline = Date.now() + timeoutMs;
    let last: SourceBody | undefined;
    while (Date.now() < deadline) {
      const res = await api('GET', `/tenants/${tenant}/sources/${name}`);
      expect(res.status).toBe(200);
      last = res.body as SourceBody;
      if (predicate(last)) {
        return last;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`source ${name} did not reach the expected state: ${JSON.stringify(last)}`);
  }

  const condition = (s: SourceBody, type: string): Condition | undefined =>
    s.status.conditions.find((c) => c.type === type);

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root, auth: AUTH });
    databaseName = uniqueDatabaseName('gitfleet_e2e_sources');
    databaseUrl = await createEmptyDatabase(databaseName);
    app = await startAppProcess({
      DATABASE_URL: databaseUrl,
      GITFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
      GITFLEET_ENCRYPTION_KEYS: `e2e:${randomBytes(32).toString('base64')}`,
      SOURCE_SCHEDULER_INTERVAL_MS: '250',
      SOURCE_FETCH_BACKOFF_BASE_SECONDS: '1',
      SOURCE_FETCH_CONCURRENCY: '4',
      LOG_LEVEL: 'debug',
    });
    tenant = `team-${randomBytes(3).toString('hex')}`;
    await createTenant(tenant);
  });

  afterAll(async () => {
    await app?.stop();
    await server?.close();
    await repos?.dispose();
    if (databaseName !== undefined) {
      await dropDatabase(databaseName);
    }
  });

  it('fetches a new source to Ready with a Flux-style revision, showing credentials only as present', async () => {
    const repo = await repos.createRepository('apps');
    const head = await repo.commit({ 'app.yaml': 'replicas: 1\n' });

    const created = await api('POST', `/tenants/${tenant}/sources`, gitSource('apps', repo));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'apps',
      tenant,
      hasCredentials: true,
      credentialsKind: 'basic',
    });
    expect(created.text).not.toContain(AUTH.password);
    expect(created.body.credentials).toBeUndefined();

    const ready = await waitFor('apps', (s) => condition(s, 'Ready')?.status === 'True');
    expect(ready.status.revision).toBe(`main@sha1:${head}`);
    expect(ready.status.revision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
    expect(ready.status.artifactDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ready.status.artifactSizeBytes).toBe(12);
    expect(condition(ready, 'Ready')?.reason).toBe('Succeeded');
    expect(condition(ready, 'FetchFailed')).toBeUndefined();

    const list = await api('GET', `/tenants/${tenant}/sources`);
    expect(list.body.items.map((s: SourceBody) => s.name)).toContain('apps');
    expect(list.text).not.toContain(AUTH.password);
  });

  it('follows a pushed commit on refresh (202)', async () => {
    const repo = await repos.createRepository('moving');
    await repo.commit({ 'a.yaml': 'a: 1\n' });
    expect(
      (await api('POST', `/tenants/${tenant}/sources`, gitSource('moving', repo))).status,
    ).toBe(201);
    await waitFor('moving', (s) => condition(s, 'Ready')?.status === 'True');

    const next = await repo.commit({ 'a.yaml': 'a: 2\n' });
    const refresh = await api('POST', `/tenants/${tenant}/sources/moving/refresh`);
    expect(refresh.status).toBe(202);
    expect(refresh.body.accepted).toBe(true);
    const moved = await waitFor('moving', (s) => s.status.revision === `main@sha1:${next}`);
    expect(condition(moved, 'Ready')?.status).toBe('True');
  });

  it('fetches each revision exactly once however many callers ask for it at once', async () => {
    const repo = await repos.createRepository('popular');
    await repo.commit({ 'p.yaml': 'p: 1\n' });
    expect(
      (await api('POST', `/tenants/${tenant}/sources`, gitSource('popular', repo))).status,
    ).toBe(201);
    await waitFor('popular', (s) => condition(s, 'Ready')?.status === 'True');
    expect(server.statsFor(repo.path).fetches).toBe(1);

    // Fifty releases using this source all ask for a refresh after a push.
    const next = await repo.commit({ 'p.yaml': 'p: 2\n' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api('POST', `/tenants/${tenant}/sources/popular/refresh`)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 50 }, () => 202));
    await waitFor('popular', (s) => s.status.revision === `main@sha1:${next}`);
    // Refreshes that arrived during the fetch lead to one more (cheap) check; let it run.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(server.statsFor(repo.path).fetches).toBe(2);
  });

  it('reports wrong credentials as FetchFailed without the secret in responses, logs or metrics', async () => {
    const repo = await repos.createRepository('locked');
    await repo.commit({ 'l.yaml': 'l: 1\n' });
    const body = gitSource('locked', repo, {
      credentials: { kind: 'basic', username: AUTH.username, password: WRONG_PASSWORD },
    });
    const created = await api('POST', `/tenants/${tenant}/sources`, body);
    expect(created.status).toBe(201);
    const failed = await waitFor('locked', (s) => condition(s, 'FetchFailed')?.status === 'True');
    expect(condition(failed, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'AuthenticationFailed',
    });
    expect(condition(failed, 'FetchFailed')?.reason).toBe('AuthenticationFailed');
    expect(failed.status.revision).toBeNull();
    expect(failed.status.failureCount).toBeGreaterThanOrEqual(1);
    // The wrong password really went to the server...
    const sent = `Basic ${Buffer.from(`${AUTH.username}:${WRONG_PASSWORD}`).toString('base64')}`;
    expect(server.authorizationHeaders).toContain(sent);

    // ...and nowhere else.
    const seen = [
      JSON.stringify(failed),
      (await api('GET', `/tenants/${tenant}/sources`)).text,
      await (await fetch(`${app.baseUrl}/metrics`)).text(),
      app.output(),
    ].join('\n');
    for (const secret of [
      WRONG_PASSWORD,
      AUTH.password,
      encodeURIComponent(WRONG_PASSWORD),
      sent.slice(6),
    ]) {
      expect(seen).not.toContain(secret);
    }
    expect(app.output()).toContain('source fetch failed');
  });

  it('keeps the last revision when the branch is deleted', async () => {
    const repo = await repos.createRepository('vanishing');
    const head = await repo.commit({ 'v.yaml': 'v: 1\n' });
    await repo.commit({ 'keep.yaml': 'k\n' }, { branch: 'other' });
    expect(
      (await api('POST', `/tenants/${tenant}/sources`, gitSource('vanishing', repo))).status,
    ).toBe(201);
    const ready = await waitFor('vanishing', (s) => condition(s, 'Ready')?.status === 'True');

    await repo.deleteBranch('main');
    expect((await api('POST', `/tenants/${tenant}/sources/vanishing/refresh`)).status).toBe(202);
    const failed = await waitFor(
      'vanishing',
      (s) => condition(s, 'FetchFailed')?.status === 'True',
    );
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'RefNotFound' });
    expect(failed.status.revision).toBe(`main@sha1:${head}`);
    expect(failed.status.artifactDigest).toBe(ready.status.artifactDigest);
  });

  it('exports fetch metrics with bounded labels', async () => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(text).toMatch(/gitfleet_source_fetch_total\{kind="git",result="success"\} \d+/);
    expect(text).toMatch(/gitfleet_source_fetch_total\{kind="git",result="failure"\} \d+/);
    expect(text).toContain('gitfleet_source_fetch_duration_seconds_bucket');
    expect(text).toMatch(/gitfleet_artifact_cache_bytes \d+/);
    expect(text).not.toContain('127.0.0.1:');
  });

  it('answers 400 with field details for a URL outside the policy', async () => {
    for (const url of [
      'file:///etc/passwd',
      'ext::sh -c id',
      'https://169.254.169.254/latest.git',
    ]) {
      const res = await api('POST', `/tenants/${tenant}/sources`, {
        name: 'bad',
        kind: 'git',
        url,
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'url' })]);
    }
    const bad = await api('POST', `/tenants/${tenant}/sources`, {
      name: 'Bad_Name',
      kind: 'svn',
      url: '',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual(
      expect.arrayContaining(['name', 'kind', 'url']),
    );
  });

  it('answers 400 for an insecure scheme, naming the setting that would allow it', async () => {
    const refusals: [string, string, RegExp][] = [
      ['git', 'http://git.example.com/org/repo.git', /set SOURCE_ALLOW_HTTP=true to accept it/],
      ['helm', 'http://charts.example.com/', /set SOURCE_ALLOW_HTTP=true to accept it/],
      [
        'git',
        'git://git.example.com/org/repo.git',
        /no setting allows it; use https:\/\/ or ssh:\/\//,
      ],
    ];
    for (const [kind, url, message] of refusals) {
      const res = await api('POST', `/tenants/${tenant}/sources`, {
        name: 'insecure',
        kind,
        url,
        ...(kind === 'git' ? { reference: { branch: 'main' } } : {}),
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([
        expect.objectContaining({ field: 'url', message: expect.stringMatching(message) }),
      ]);
      expect((await api('GET', `/tenants/${tenant}/sources/insecure`)).status).toBe(404);
    }
  });

  it("answers 404 for unknown tenants and for another tenant's source", async () => {
    const other = `other-${randomBytes(3).toString('hex')}`;
    await createTenant(other);
    expect((await api('GET', `/tenants/${other}/sources/apps`)).status).toBe(404);
    expect((await api('POST', `/tenants/${other}/sources/apps/refresh`)).status).toBe(404);
    expect((await api('DELETE', `/tenants/${other}/sources/apps`)).status).toBe(404);
    expect((await api('GET', `/tenants/${other}/sources`)).body.items).toEqual([]);
    const missing = await api('GET', `/tenants/no-such-tenant/sources`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('TenantNotFound');
    expect((await api('GET', `/tenants/${tenant}/sources/apps`)).status).toBe(200);
  });

  it('suspends, refuses a refresh while suspended, resumes and deletes', async () => {
    expect((await api('POST', `/tenants/${tenant}/sources/apps/suspend`)).body.suspended).toBe(
      true,
    );
    expect((await api('POST', `/tenants/${tenant}/sources/apps/refresh`)).status).toBe(409);
    expect((await api('POST', `/tenants/${tenant}/sources/apps/resume`)).body.suspended).toBe(
      false,
    );
    const patched = await api('PATCH', `/tenants/${tenant}/sources/apps`, { intervalSeconds: 900 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      intervalSeconds: 900,
      hasCredentials: true,
      generation: 2,
    });
    expect((await api('DELETE', `/tenants/${tenant}/sources/apps`)).status).toBe(204);
    expect((await api('GET', `/tenants/${tenant}/sources/apps`)).status).toBe(404);
  });
});
