import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { loadConfig } from 'src/common/config/config';
import type { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import type { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import type { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import type { SourceScheduler } from 'src/modules/sources/source-scheduler';
import { toSourceDto } from 'src/modules/sources/source.mapper';
import { SourceRepository } from 'src/modules/sources/source.repository';
import type { FetchOutcome, SourceSpec } from 'src/modules/sources/source.types';
import { SourcesService } from 'src/modules/sources/sources.service';
import { createTestDatabase } from 'test/support/database/test-database';
import { insertTenant } from 'test/support/factories/registry.factory';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

function spec(overrides: Partial<SourceSpec> = {}): SourceSpec {
  return {
    kind: 'git',
    url: 'https://git.example.com/org/repo.git',
    reference: { kind: 'branch', name: 'main' },
    intervalSeconds: 300,
    timeoutSeconds: 60,
    ignore: [],
    caCertificate: null,
    suspended: false,
    ...overrides,
  };
}

const success = (revision: string): FetchOutcome => ({
  kind: 'success',
  revision,
  artifactDigest: `sha256:${'a'.repeat(64)}`,
  artifactSizeBytes: 42,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: 'ok',
      lastTransitionTime: new Date().toISOString(),
    },
  ],
  nextFetchInSeconds: 300,
});

describe('sources in PostgreSQL: tenant scope, claims, fencing, sealed credentials', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let sut: SourceRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = db.dataSource;
    sut = new SourceRepository(ds);
  });
  afterAll(async () => db.drop());
  beforeEach(async () => {
    await ds.query('TRUNCATE tenant CASCADE');
  });

  const insert = (tenantId: string, name = `s-${randomUUID().slice(0, 8)}`, overrides = {}) =>
    sut.insert(tenantId, randomUUID(), name, spec(overrides), null);

  describe('a stale reader asking for a refresh', () => {
    it('asks once per recorded revision, never over a running fetch, a backoff or another tenant', async () => {
      const tenantId = await insertTenant(ds);
      const other = await insertTenant(ds);
      const source = await insert(tenantId);
      await ds.query(
        `UPDATE source SET revision = 'r1', last_fetch_at = now() - interval '5 minutes' WHERE id = $1`,
        [source.id],
      );
      expect(await sut.requestRefreshOfStale(other, source.id, 'r1')).toBe(false);
      expect(await sut.requestRefreshOfStale(tenantId, source.id, 'r0')).toBe(false);
      expect(await sut.requestRefreshOfStale(tenantId, source.id, 'r1')).toBe(true);
      // Already asked: a second stale reader adds nothing.
      expect(await sut.requestRefreshOfStale(tenantId, source.id, 'r1')).toBe(false);

      await ds.query(
        `UPDATE source SET refresh_requested_at = NULL, failure_count = 2 WHERE id = $1`,
        [source.id],
      );
      expect(await sut.requestRefreshOfStale(tenantId, source.id, 'r1')).toBe(false);
      await ds.query(`UPDATE source SET failure_count = 0, last_fetch_at = now() WHERE id = $1`, [
        source.id,
      ]);
      expect(await sut.requestRefreshOfStale(tenantId, source.id, 'r1')).toBe(false);
    });
  });

  describe('tenant scope', () => {
    it("never shows or changes another tenant's sources", async () => {
      const a = await insertTenant(ds);
      const b = await insertTenant(ds);
      const mine = await insert(a, 'shared-name');
      await insert(b, 'shared-name');
      await insert(b, 'only-b');

      expect(await sut.findByName(a, 'only-b')).toBeUndefined();
      expect(await sut.findById(b, mine.id)).toBeUndefined();
      expect(await sut.findCredentials(b, mine.id)).toBeNull();
      expect((await sut.list(a, undefined, 50)).map((s) => s.id)).toEqual([mine.id]);
      expect(await sut.namesByIds(b, [mine.id])).toEqual(new Map());
      expect(
        await sut.update(b, 'only-a-has-this', { url: 'https://x.example/y.git' }),
      ).toBeUndefined();
      expect(await sut.requestRefresh(a, 'only-b')).toBeUndefined();
      expect(await sut.setSuspended(a, 'only-b', true)).toBeUndefined();
      expect(await sut.delete(a, 'only-b')).toBeUndefined();

      // The same name in two tenants are two sources; an update in B leaves A's alone.
      const updated = await sut.update(b, 'shared-name', { url: 'https://b.example/repo.git' });
      expect(updated?.tenantId).toBe(b);
      expect((await sut.findById(a, mine.id))?.url).toBe('https://git.example.com/org/repo.git');
      const rows = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM source');
      expect(rows[0]?.n).toBe(3);
    });

    it("finds a chart dependency's helm source by URL in its own tenant only", async () => {
      const a = await insertTenant(ds);
      const b = await insertTenant(ds);
      const url = 'https://charts.example/stable/';
      const mine = await insert(a, 'charts', { kind: 'helm', url, reference: null });
      await insert(b, 'charts', { kind: 'helm', url, reference: null });
      await insert(a, 'git-same-url', { url });

      expect((await sut.findHelmByUrls(a, [url])).map((s) => s.id)).toEqual([mine.id]);
      expect(await sut.findHelmByUrls(a, ['https://charts.example/other/'])).toEqual([]);
    });

    it('keeps names unique per tenant', async () => {
      const a = await insertTenant(ds);
      await insert(a, 'dup');
      await expect(insert(a, 'dup')).rejects.toMatchObject({
        driverError: { constraint: 'UQ_source_tenant_name' },
      });
    });

    it('refuses to delete a tenant that still owns sources', async () => {
      const a = await insertTenant(ds);
      await insert(a);
      await expect(ds.query('DELETE FROM tenant WHERE id = $1', [a])).rejects.toMatchObject({
        driverError: { constraint: 'FK_source_tenant' },
      });
    });

    it('pages a list by name', async () => {
      const a = await insertTenant(ds);
      for (const name of ['c', 'a', 'b']) {
        await insert(a, name);
      }
      expect((await sut.list(a, undefined, 2)).map((s) => s.name)).toEqual(['a', 'b', 'c']);
      expect((await sut.list(a, 'b', 2)).map((s) => s.name)).toEqual(['c']);
    });
  });

  describe('claims', () => {
    it('never gives one source to two claimers racing with SKIP LOCKED', async () => {
      const a = await insertTenant(ds);
      const ids = new Set<string>();
      for (let i = 0; i < 40; i++) {
        ids.add((await insert(a, `s${i}`)).id);
      }
      const claimers = ['replica-1', 'replica-2', 'replica-3'];
      const claimed = await Promise.all(
        claimers.map(async (owner) => {
          const mine: string[] = [];
          for (let round = 0; round < 10; round++) {
            mine.push(...(await sut.claimDueAcrossTenants(owner, 3, 30)).map((s) => s.id));
          }
          return mine;
        }),
      );
      const all = claimed.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(new Set(all)).toEqual(ids);
      const owners = await ds.query<{ lease_owner: string; n: number }[]>(
        'SELECT lease_owner, count(*)::int AS n FROM source GROUP BY lease_owner ORDER BY 1',
      );
      expect(owners.reduce((sum, r) => sum + r.n, 0)).toBe(40);
      for (const [i, owner] of claimers.entries()) {
        expect(owners.find((r) => r.lease_owner === owner)?.n ?? 0).toBe(claimed[i].length);
      }
    });

    it('skips suspended, not-yet-due and leased sources, and reclaims an expired lease', async () => {
      const a = await insertTenant(ds);
      const due = await insert(a, 'due');
      await insert(a, 'suspended', { suspended: true });
      const later = await insert(a, 'later');
      await ds.query(`UPDATE source SET next_fetch_at = now() + interval '1 hour' WHERE id = $1`, [
        later.id,
      ]);

      const first = await sut.claimDueAcrossTenants('r1', 10, 30);
      expect(first.map((s) => s.name)).toEqual(['due']);
      expect(first[0]?.fencingToken).toBe(1n);
      expect(await sut.claimDueAcrossTenants('r2', 10, 30)).toEqual([]);

      // r1 died: its lease runs out and r2 takes over with the next fencing token.
      await ds.query(
        `UPDATE source SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
        [due.id],
      );
      const second = await sut.claimDueAcrossTenants('r2', 10, 30);
      expect(second.map((s) => [s.name, s.leaseOwner, s.fencingToken])).toEqual([
        ['due', 'r2', 2n],
      ]);
    });

    it('sets the lease to the timeout plus the margin', async () => {
      const a = await insertTenant(ds);
      await insert(a, 'x', { timeoutSeconds: 90 });
      await sut.claimDueAcrossTenants('r1', 1, 30);
      const rows = await ds.query<{ secs: number }[]>(
        `SELECT extract(epoch FROM lease_expires_at - now())::float AS secs FROM source`,
      );
      expect(rows[0].secs).toBeGreaterThan(115);
      expect(rows[0].secs).toBeLessThanOrEqual(120);
    });
  });

  describe('fencing', () => {
    it('rejects the result of a claim whose lease moved on, and keeps the newer result', async () => {
      const a = await insertTenant(ds);
      const source = await insert(a, 'fenced');
      const [stale] = await sut.claimDueAcrossTenants('r1', 1, 30);
      await ds.query(`UPDATE source SET lease_expires_at = now() - interval '1 second'`);
      const [fresh] = await sut.claimDueAcrossTenants('r2', 1, 30);

      const newer = `main@sha1:${'b'.repeat(40)}`;
      expect(await sut.complete(a, source.id, 'r2', fresh.fencingToken, 1, success(newer))).toBe(
        true,
      );
      expect(
        await sut.complete(
          a,
          source.id,
          'r1',
          stale.fencingToken,
          1,
          success(`main@sha1:${'c'.repeat(40)}`),
        ),
      ).toBe(false);
      const after = await sut.findById(a, source.id);
      expect(after?.status.revision).toBe(newer);
    });

    it('drops a result fetched for a spec that changed meanwhile', async () => {
      const a = await insertTenant(ds);
      const source = await insert(a, 'changed');
      const [claim] = await sut.claimDueAcrossTenants('r1', 1, 30);
      await sut.update(a, 'changed', { url: 'https://git.example.com/org/other.git' });
      expect(
        await sut.complete(
          a,
          source.id,
          'r1',
          claim.fencingToken,
          1,
          success(`main@sha1:${'d'.repeat(40)}`),
        ),
      ).toBe(false);
      const after = await sut.findById(a, source.id);
      expect(after?.status.revision).toBeNull();
      expect(after?.generation).toBe(2);
      // ...and the new spec is due at once.
      expect((await sut.claimDueAcrossTenants('r1', 1, 30)).map((s) => s.id)).toEqual([source.id]);
    });

    it('keeps the revision when a fetch fails, and counts failures', async () => {
      const a = await insertTenant(ds);
      const source = await insert(a, 'flaky');
      const good = `main@sha1:${'e'.repeat(40)}`;
      let [claim] = await sut.claimDueAcrossTenants('r1', 1, 30);
      await sut.complete(a, source.id, 'r1', claim.fencingToken, 1, {
        ...success(good),
        nextFetchInSeconds: 0,
      });
      [claim] = await sut.claimDueAcrossTenants('r1', 1, 30);
      const failed: FetchOutcome = {
        kind: 'failure',
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'RefNotFound',
            message: 'branch "main" not found',
            lastTransitionTime: '',
          },
        ],
        nextFetchInSeconds: 60,
      };
      expect(await sut.complete(a, source.id, 'r1', claim.fencingToken, 1, failed)).toBe(true);
      const after = await sut.findById(a, source.id);
      expect(after?.status).toMatchObject({
        revision: good,
        artifactSizeBytes: 42,
        failureCount: 1,
      });
      expect(after?.status.conditions[0]?.reason).toBe('RefNotFound');
      expect(after!.status.nextFetchAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    });

    it('schedules another fetch right away when a refresh arrived during the fetch', async () => {
      const a = await insertTenant(ds);
      const source = await insert(a, 'busy');
      const [claim] = await sut.claimDueAcrossTenants('r1', 1, 30);
      await sut.requestRefresh(a, 'busy');
      await sut.complete(
        a,
        source.id,
        'r1',
        claim.fencingToken,
        1,
        success(`main@sha1:${'f'.repeat(40)}`),
      );
      const again = await sut.claimDueAcrossTenants('r1', 1, 30);
      expect(again.map((s) => s.id)).toEqual([source.id]);
    });
  });

  describe('credentials', () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    let service: SourcesService;
    let codec: SourceCredentialsCodec;

    beforeAll(() => {
      const config = loadConfig({
        DATABASE_URL: db.url,
        GITFLEET_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      });
      codec = new SourceCredentialsCodec(config);
      const scheduler = { kick: () => undefined } as unknown as SourceScheduler;
      service = new SourcesService(
        sut,
        codec,
        scheduler,
        {} as GitFetcher,
        {} as ArtifactStore,
        config,
        {} as HelmRepositoryClient,
      );
    });

    it('stores only a vault envelope bound to the source, and never returns the secret', async () => {
      const a = await insertTenant(ds);
      const created = await service.create(a, {
        name: 'private',
        ...spec(),
        credentials: { kind: 'basic', username: 'fleet-bot', password: canary },
      });
      const rows = await ds.query<Record<string, unknown>[]>('SELECT * FROM source WHERE id = $1', [
        created.id,
      ]);
      expect(JSON.stringify(rows)).not.toContain(canary);
      expect(rows[0]?.credentials_ciphertext).toMatch(/^gfv1\.k1\./);
      expect(rows[0]?.credentials_key_id).toBe('k1');
      expect(rows[0]?.credentials_kind).toBe('basic');

      const envelope = await sut.findCredentials(a, created.id);
      expect(codec.open(created.id, envelope!)).toEqual({
        kind: 'basic',
        username: 'fleet-bot',
        password: canary,
      });

      const view = toSourceDto(await service.get(a, 'private'), 'tenant-a');
      expect(JSON.stringify(view)).not.toContain(canary);
      expect(JSON.stringify(view)).not.toContain('fleet-bot');
      expect(view).toMatchObject({ hasCredentials: true, credentialsKind: 'basic' });
    });

    it('fails closed when an envelope is moved to another source', async () => {
      const a = await insertTenant(ds);
      const one = await service.create(a, {
        name: 'one',
        ...spec(),
        credentials: { kind: 'token', token: canary },
      });
      const two = await service.create(a, { name: 'two', ...spec(), credentials: null });
      const envelope = await sut.findCredentials(a, one.id);
      expect(() => codec.open(two.id, envelope!)).toThrow(/failed authentication/);
    });

    it('replaces, keeps and removes credentials on update', async () => {
      const a = await insertTenant(ds);
      const created = await service.create(a, { name: 'rotating', ...spec(), credentials: null });
      expect(created.credentialsKind).toBeNull();
      await service.update(a, 'rotating', { credentials: { kind: 'token', token: canary } });
      const kept = await service.update(a, 'rotating', { intervalSeconds: 600 });
      expect(kept.credentialsKind).toBe('token');
      expect(codec.open(created.id, (await sut.findCredentials(a, created.id))!)).toEqual({
        kind: 'token',
        token: canary,
      });
      const removed = await service.update(a, 'rotating', { credentials: null });
      expect(removed.credentialsKind).toBeNull();
      expect(await sut.findCredentials(a, created.id)).toBeNull();
    });

    it('refuses URLs outside the policy with field details, writing nothing', async () => {
      const a = await insertTenant(ds);
      for (const url of [
        'file:///etc',
        'ext::sh -c id',
        '-upload-pack=id',
        'http://169.254.169.254/x.git',
        'https://u:p@h.example/r.git',
      ]) {
        await expect(
          service.create(a, { name: 'bad', ...spec({ url }), credentials: null }),
        ).rejects.toMatchObject({
          code: 'InvalidSource',
          status: 400,
          details: [expect.objectContaining({ field: 'url' })],
        });
      }
      await expect(
        service.create(a, {
          name: 'bad',
          ...spec({ url: 'ssh://git@git.example.com/org/repo.git' }),
          credentials: null,
        }),
      ).rejects.toMatchObject({ details: [expect.objectContaining({ field: 'credentials' })] });
      const rows = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM source');
      expect(rows[0]?.n).toBe(0);
    });

    it('refuses a CA bundle that does not parse, on create and update, writing nothing', async () => {
      const a = await insertTenant(ds);
      const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n';
      const helm = spec({ kind: 'helm', url: 'https://charts.example.com/', reference: null });
      await expect(
        service.create(a, { name: 'charts', ...helm, caCertificate: broken, credentials: null }),
      ).rejects.toMatchObject({
        code: 'InvalidSource',
        status: 400,
        details: [expect.objectContaining({ field: 'caCertificate' })],
      });
      const ca = (await createCertificateAuthority('medium spec CA')).certPem;
      const created = await service.create(a, {
        name: 'charts',
        ...helm,
        caCertificate: ca,
        credentials: null,
      });
      expect(created.caCertificate).toBe(ca);
      await expect(service.update(a, 'charts', { caCertificate: broken })).rejects.toMatchObject({
        details: [expect.objectContaining({ field: 'caCertificate' })],
      });
      expect((await service.get(a, 'charts')).caCertificate).toBe(ca);
    });
  });
});
