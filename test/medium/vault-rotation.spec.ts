import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRepository } from 'src/clusters/cluster.repository';
import { clusterKubeconfigAad, SEALED_COLUMNS } from 'src/common/vault/sealed-columns';
import { SecretVault } from 'src/common/vault/secret-vault';
import { VaultRotationService } from 'src/common/vault/vault-rotation.service';
import { createTestDatabase } from 'test/support/database/test-database';

const k1 = { id: 'k1', keyBase64: randomBytes(32).toString('base64') };
const k2 = { id: 'k2', keyBase64: randomBytes(32).toString('base64') };

describe('vault key rotation on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let clusters: ClusterRepository;
  const oldVault = new SecretVault({ keys: [k1], activeKeyId: 'k1' });
  const rotatingVault = new SecretVault({ keys: [k1, k2], activeKeyId: 'k2' });
  const newOnlyVault = new SecretVault({ keys: [k2], activeKeyId: 'k2' });
  const ids: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    clusters = new ClusterRepository(db.dataSource);
    for (let i = 0; i < 25; i++) {
      const id = randomUUID();
      ids.push(id);
      const envelope = oldVault.encrypt(`secret-${i}`, clusterKubeconfigAad(id));
      await clusters.transaction((m) =>
        clusters.insert(m, {
          id,
          name: `c-${String(i).padStart(2, '0')}`,
          labels: {},
          ownerTenantId: null,
          apiServerUrl: 'https://10.0.0.1',
          source: 'manual',
          insecureSkipTlsVerify: false,
          kubeconfigCiphertext: envelope,
          kubeconfigKeyId: 'k1',
        }),
      );
    }
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('re-encrypts every row under the active key in batches; the old key can then be removed', async () => {
    const sut = new VaultRotationService(db.dataSource, rotatingVault, SEALED_COLUMNS);
    expect(await sut.countRemaining()).toBe(25);
    const report = await sut.rotateAll(7);
    expect(report).toMatchObject({
      activeKeyId: 'k2',
      rotated: 25,
      conflicts: 0,
      failed: [],
      remaining: 0,
    });
    for (const [i, id] of ids.entries()) {
      const stored = await clusters.loadCredentials(id);
      expect(newOnlyVault.decryptString(stored!.ciphertext, clusterKubeconfigAad(id))).toBe(
        `secret-${i}`,
      );
    }
    const keyIds = await db.dataSource.query<{ kubeconfig_key_id: string }[]>(
      'SELECT DISTINCT kubeconfig_key_id FROM cluster',
    );
    expect(keyIds).toEqual([{ kubeconfig_key_id: 'k2' }]);
    // A second run finds nothing to do.
    expect((await sut.rotateAll()).rotated).toBe(0);
  });

  it('reports rows it cannot decrypt (swapped between rows) and leaves them untouched', async () => {
    const [a, b] = ids;
    const ea = oldVault.encrypt('a', clusterKubeconfigAad(a));
    const eb = oldVault.encrypt('b', clusterKubeconfigAad(b));
    // Swap the envelopes of two rows: each now carries the other's associated data.
    await db.dataSource.query(
      `UPDATE cluster SET kubeconfig_ciphertext = $2, kubeconfig_key_id = 'k1' WHERE id = $1`,
      [a, eb],
    );
    await db.dataSource.query(
      `UPDATE cluster SET kubeconfig_ciphertext = $2, kubeconfig_key_id = 'k1' WHERE id = $1`,
      [b, ea],
    );
    const sut = new VaultRotationService(db.dataSource, rotatingVault, SEALED_COLUMNS);
    const report = await sut.rotateAll();
    expect(report.rotated).toBe(0);
    expect(report.failed.map((f) => f.code)).toEqual([
      'SecretUndecryptable',
      'SecretUndecryptable',
    ]);
    expect(report.remaining).toBe(2);
    expect((await clusters.loadCredentials(a))?.ciphertext).toBe(eb);
  });

  it('loses to a concurrent writer instead of overwriting it (optimistic check)', async () => {
    const id = ids[5];
    const envelope = oldVault.encrypt('x', clusterKubeconfigAad(id));
    await db.dataSource.query(
      `UPDATE cluster SET kubeconfig_ciphertext = $2, kubeconfig_key_id = 'k1' WHERE id = $1`,
      [id, envelope],
    );
    // A vault whose re-encryption races with a credential rotation of the same row.
    const racing = new SecretVault({ keys: [k1, k2], activeKeyId: 'k2' });
    const fresh = racing.encrypt('new-credentials', clusterKubeconfigAad(id));
    const original = racing.reencrypt.bind(racing);
    let raced = false;
    racing.reencrypt = (env: string, aad: string): string => {
      if (!raced && aad === clusterKubeconfigAad(id)) {
        raced = true;
        void db.dataSource.query(`UPDATE cluster SET kubeconfig_ciphertext = $2 WHERE id = $1`, [
          id,
          fresh,
        ]);
      }
      return original(env, aad);
    };
    const sut = new VaultRotationService(db.dataSource, racing, [
      { ...SEALED_COLUMNS[0], aad: clusterKubeconfigAad },
    ]);
    // Give the concurrent write time to land before the guarded UPDATE.
    await new Promise((r) => setTimeout(r, 0));
    const report = await sut.rotateAll();
    expect(report.conflicts + report.rotated).toBeGreaterThanOrEqual(1);
    const stored = await clusters.loadCredentials(id);
    expect(racing.decryptString(stored!.ciphertext, clusterKubeconfigAad(id))).toBe(
      'new-credentials',
    );
  });
});
