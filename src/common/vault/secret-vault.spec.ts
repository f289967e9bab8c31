import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretVault } from './secret-vault';

const key = (): string => randomBytes(32).toString('base64');
const k1 = { id: 'k1', keyBase64: key() };
const k2 = { id: 'k2', keyBase64: key() };
const AAD_A = 'cluster:00000000-0000-4000-8000-00000000000a:kubeconfig';
const AAD_B = 'cluster:00000000-0000-4000-8000-00000000000b:kubeconfig';
const SECRET = 'token-canary-0123456789abcdef';

function flip(envelope: string, part: number): string {
  const parts = envelope.split('.');
  const bytes = Buffer.from(parts[part], 'base64url');
  bytes[bytes.length - 20] ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('SecretVault', () => {
  const sut = new SecretVault({ keys: [k1], activeKeyId: 'k1' });

  it('round-trips and never stores the plaintext or the key in the envelope', () => {
    const envelope = sut.encrypt(SECRET, AAD_A);
    expect(envelope.startsWith('gfv1.k1.')).toBe(true);
    expect(envelope).not.toContain(SECRET);
    expect(envelope).not.toContain(k1.keyBase64);
    expect(sut.decryptString(envelope, AAD_A)).toBe(SECRET);
    expect(sut.keyIdOf(envelope)).toBe('k1');
  });

  it('uses a fresh data key and IV each time', () => {
    expect(sut.encrypt(SECRET, AAD_A)).not.toBe(sut.encrypt(SECRET, AAD_A));
  });

  it('fails closed on a tampered ciphertext or wrapped key', () => {
    const envelope = sut.encrypt(SECRET, AAD_A);
    for (const part of [2, 3]) {
      expect(() => sut.decrypt(flip(envelope, part), AAD_A)).toThrow(
        expect.objectContaining({ code: 'SecretUndecryptable' }),
      );
    }
  });

  it('fails closed when an envelope is moved to another row (associated data)', () => {
    const envelope = sut.encrypt(SECRET, AAD_A);
    expect(() => sut.decrypt(envelope, AAD_B)).toThrow(
      expect.objectContaining({ code: 'SecretUndecryptable' }),
    );
  });

  it('fails closed on an unknown key id, and on a relabelled key id', () => {
    const other = new SecretVault({ keys: [k2], activeKeyId: 'k2' });
    const envelope = other.encrypt(SECRET, AAD_A);
    expect(() => sut.decrypt(envelope, AAD_A)).toThrow(
      expect.objectContaining({ code: 'UnknownEncryptionKey' }),
    );
    const both = new SecretVault({ keys: [k1, k2], activeKeyId: 'k1' });
    const relabelled = envelope.replace('gfv1.k2.', 'gfv1.k1.');
    expect(() => both.decrypt(relabelled, AAD_A)).toThrow(
      expect.objectContaining({ code: 'SecretUndecryptable' }),
    );
  });

  it('refuses malformed envelopes without echoing them', () => {
    try {
      sut.decrypt(`not-an-envelope-${SECRET}`, AAD_A);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'MalformedCiphertext' });
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  it('rotates: an old envelope is re-encrypted under the active key, and the old key can then go', () => {
    const old = new SecretVault({ keys: [k1], activeKeyId: 'k1' }).encrypt(SECRET, AAD_A);
    const rotating = new SecretVault({ keys: [k1, k2], activeKeyId: 'k2' });
    expect(rotating.isCurrent(old)).toBe(false);
    const next = rotating.reencrypt(old, AAD_A);
    expect(rotating.keyIdOf(next)).toBe('k2');
    const onlyNew = new SecretVault({ keys: [k2], activeKeyId: 'k2' });
    expect(onlyNew.decryptString(next, AAD_A)).toBe(SECRET);
  });

  it('refuses to start without the active key', () => {
    expect(() => new SecretVault({ keys: [k1], activeKeyId: 'k2' })).toThrow(
      expect.objectContaining({ code: 'NoEncryptionKey' }),
    );
  });
});
