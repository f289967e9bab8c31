import { defineErrors } from 'src/common/errors/app-error';

/**
 * Failures of the secret vault. All fail closed: the caller gets no plaintext
 * and must not fall back to an empty credential. They are server-side faults
 * (500) with a stable code, and their messages never carry key material.
 */
export const VaultError = defineErrors('VaultError', {
  /** The envelope was tampered with, or belongs to another row (associated data differs). */
  SecretUndecryptable: 500,
  /** The envelope names a key id that is not configured (removed too early, or foreign data). */
  UnknownEncryptionKey: 500,
  /** Not an envelope this vault writes. */
  MalformedCiphertext: 500,
  /** No key-encryption key is configured. */
  NoEncryptionKey: 500,
});
export type VaultErrorCode = InstanceType<typeof VaultError>['code'];
