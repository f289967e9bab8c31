import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKeyConfig } from 'src/common/config/config';
import { VaultError } from './vault.errors';

const FORMAT = 'gfv1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The key-encryption keys in use: every configured key for reading, the active one for writing. */
export interface KeyRing {
  readonly keys: readonly EncryptionKeyConfig[];
  readonly activeKeyId: string;
}

/**
 * Envelope encryption with AES-256-GCM. Each secret gets a fresh random data
 * key; the data key is wrapped by the active key-encryption key (KEK). The
 * envelope is one string: `gfv1.<kek id>.<wrapped data key>.<ciphertext>`.
 *
 * `aad` (associated data) names the place the secret belongs to, for example
 * `cluster:<uuid>:kubeconfig`. It is authenticated, not stored: an envelope
 * copied to another row fails to decrypt there. The KEK id is bound as well,
 * so relabelling an envelope with another key id fails too.
 */
export class SecretVault {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  constructor(ring: KeyRing) {
    const keys = new Map<string, Buffer>();
    for (const k of ring.keys) {
      const key = Buffer.from(k.keyBase64, 'base64');
      if (key.length !== KEY_BYTES) {
        throw new VaultError('NoEncryptionKey', `Encryption key "${k.id}" is not 32 bytes`);
      }
      keys.set(k.id, key);
    }
    if (!keys.has(ring.activeKeyId)) {
      throw new VaultError(
        'NoEncryptionKey',
        `The active encryption key "${ring.activeKeyId}" is not configured`,
      );
    }
    this.keys = keys;
    this.activeKeyId = ring.activeKeyId;
  }

  encrypt(plaintext: string | Buffer, aad: string): string {
    const kek = this.keys.get(this.activeKeyId)!;
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const wrapped = seal(kek, dataKey, wrapAad(this.activeKeyId, aad));
      const body = seal(
        dataKey,
        typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext,
        dataAad(aad),
      );
      return [FORMAT, this.activeKeyId, b64(wrapped), b64(body)].join('.');
    } finally {
      dataKey.fill(0);
    }
  }

  decrypt(envelope: string, aad: string): Buffer {
    const { keyId, wrapped, body } = parseEnvelope(envelope);
    const kek = this.keys.get(keyId);
    if (kek === undefined) {
      throw new VaultError(
        'UnknownEncryptionKey',
        `Secret for ${aad} was encrypted with key "${keyId}", which is not configured in GITFLEET_ENCRYPTION_KEYS`,
      );
    }
    const dataKey = open(kek, wrapped, wrapAad(keyId, aad), aad);
    try {
      return open(dataKey, body, dataAad(aad), aad);
    } finally {
      dataKey.fill(0);
    }
  }

  decryptString(envelope: string, aad: string): string {
    return this.decrypt(envelope, aad).toString('utf8');
  }

  /** Id of the key an envelope was written with (without decrypting it). */
  keyIdOf(envelope: string): string {
    return parseEnvelope(envelope).keyId;
  }

  /** True when the envelope is already under the active key. */
  isCurrent(envelope: string): boolean {
    return this.keyIdOf(envelope) === this.activeKeyId;
  }

  /** Decrypts and encrypts again under the active key; the plaintext is wiped afterwards. */
  reencrypt(envelope: string, aad: string): string {
    const plaintext = this.decrypt(envelope, aad);
    try {
      return this.encrypt(plaintext, aad);
    } finally {
      plaintext.fill(0);
    }
  }
}

const wrapAad = (keyId: string, aad: string): Buffer =>
  Buffer.from(`gitfleet:data-key:${keyId}:${aad}`, 'utf8');
const dataAad = (aad: string): Buffer => Buffer.from(`gitfleet:data:${aad}`, 'utf8');
const b64 = (b: Buffer): string => b.toString('base64url');

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer, label: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new VaultError('MalformedCiphertext', `Secret for ${label} is truncated`);
  }
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const ciphertext = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new VaultError(
      'SecretUndecryptable',
      `Secret for ${label} failed authentication: it was modified, or belongs to another object`,
    );
  }
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function parseEnvelope(envelope: string): { keyId: string; wrapped: Buffer; body: Buffer } {
  const parts = envelope.split('.');
  if (
    parts.length !== 4 ||
    parts[0] !== FORMAT ||
    !B64URL.test(parts[1]) ||
    !B64URL.test(parts[2]) ||
    !B64URL.test(parts[3])
  ) {
    throw new VaultError('MalformedCiphertext', 'Stored secret is not a gitfleet vault envelope');
  }
  return {
    keyId: parts[1],
    wrapped: Buffer.from(parts[2], 'base64url'),
    body: Buffer.from(parts[3], 'base64url'),
  };
}
