import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { vaultFromConfig } from 'src/common/vault/vault.module';
import { SEALED_COLUMNS } from 'src/common/vault/sealed-columns';
import { VaultRotationService } from 'src/common/vault/vault-rotation.service';
import { ConfigValidationError, loadConfig, secretValues } from 'src/common/config/config';
import { dataSourceOptions } from 'src/common/database/data-source-options';
import { JsonLogger } from 'src/common/logging/json-logger';

/**
 * `npm run vault:rotate`: re-encrypts every stored secret under
 * GITFLEET_ENCRYPTION_ACTIVE_KEY while the service keeps running. Exit code
 * 0 when nothing is left under another key (old keys may then be removed).
 */
async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(error.message + '\n');
      return 2;
    }
    throw error;
  }
  const logger = new JsonLogger(config.logLevel);
  secretValues(config).forEach((s) => logger.registerSecret(s));
  Logger.overrideLogger(logger);
  if (config.databaseUrl === undefined) {
    process.stderr.write(
      'vault:rotate needs DATABASE_URL and GITFLEET_ENCRYPTION_KEYS (the embedded default has one generated key; there is nothing to rotate)\n',
    );
    return 2;
  }
  const dataSource = new DataSource(dataSourceOptions(config.databaseUrl, 2));
  await dataSource.initialize();
  try {
    const report = await new VaultRotationService(
      dataSource,
      vaultFromConfig(config),
      SEALED_COLUMNS,
    ).rotateAll();
    process.stdout.write(JSON.stringify(report) + '\n');
    return report.remaining === 0 && report.failed.length === 0 ? 0 : 1;
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `vault:rotate failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
