import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { SEALED_COLUMNS } from './sealed-columns';
import { SecretVault } from './secret-vault';
import { VaultError } from './vault.errors';
import { SEALED_COLUMNS_TOKEN, VaultRotationService } from './vault-rotation.service';

export function vaultFromConfig(config: AppConfig): SecretVault {
  if (config.encryptionActiveKeyId === undefined || config.encryptionKeys.length === 0) {
    throw new VaultError(
      'NoEncryptionKey',
      'No encryption key configured: set GITFLEET_ENCRYPTION_KEYS (and GITFLEET_ENCRYPTION_ACTIVE_KEY)',
    );
  }
  return new SecretVault({
    keys: config.encryptionKeys,
    activeKeyId: config.encryptionActiveKeyId,
  });
}

/** The secret vault for every context that stores credentials (clusters, sources). */
@Module({
  providers: [
    { provide: SecretVault, useFactory: vaultFromConfig, inject: [APP_CONFIG] },
    { provide: SEALED_COLUMNS_TOKEN, useValue: SEALED_COLUMNS },
    VaultRotationService,
  ],
  exports: [SecretVault, VaultRotationService],
})
export class VaultModule {}
