import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import { vaultFromConfig } from 'src/common/vault/vault.module';
import type { SecretVault } from 'src/common/vault/secret-vault';
import type { SealedCredentials } from 'src/modules/sources/source.repository';
import { type SourceCredentials, sourceCredentialsAad } from 'src/modules/sources/source.types';

/**
 * Seals source credentials with the secret vault, bound to their row by the associated
 * data `source:<id>:credentials`, so an envelope copied to another source fails to open.
 * The vault is built on first use: an installation without keys runs fine until
 * somebody stores credentials (then it fails closed with NoEncryptionKey).
 */
@Injectable()
export class SourceCredentialsCodec {
  private vault: SecretVault | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private get secretVault(): SecretVault {
    this.vault ??= vaultFromConfig(this.config);
    return this.vault;
  }

  seal(sourceId: string, credentials: SourceCredentials): SealedCredentials {
    const vault = this.secretVault;
    const ciphertext = vault.encrypt(JSON.stringify(credentials), sourceCredentialsAad(sourceId));
    return { kind: credentials.kind, ciphertext, keyId: vault.keyIdOf(ciphertext) };
  }

  open(sourceId: string, ciphertext: string): SourceCredentials {
    return JSON.parse(
      this.secretVault.decryptString(ciphertext, sourceCredentialsAad(sourceId)),
    ) as SourceCredentials;
  }
}

/** The secret strings inside credentials, for scrubbing messages. */
export function credentialSecrets(credentials: SourceCredentials | undefined): string[] {
  if (credentials === undefined) {
    return [];
  }
  switch (credentials.kind) {
    case 'basic':
      return [credentials.password];
    case 'token':
      return [credentials.token];
    case 'ssh':
      return credentials.privateKey === undefined ? [] : [credentials.privateKey];
  }
}
