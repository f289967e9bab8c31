import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigValidationError, loadConfig, secretValues } from 'src/common/config/config';
import {
  EmbeddedDatabaseHandle,
  startEmbeddedDatabase,
} from 'src/common/database/embedded-database';
import { JsonLogger } from 'src/common/logging/json-logger';
import { withEmbeddedEncryptionKey } from 'src/common/vault/embedded-key';
import { createApp } from './app.factory';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(error.message + '\n');
      process.exit(2);
    }
    throw error;
  }
  const logger = new JsonLogger(config.logLevel);
  secretValues(config).forEach((s) => logger.registerSecret(s));
  Logger.overrideLogger(logger);
  const log = new Logger('Main');

  let embedded: EmbeddedDatabaseHandle | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    // loadConfig refuses DATABASE_URL without keys, so only the embedded default gets here keyless.
    if (config.encryptionKeys.length === 0) {
      const keyed = await withEmbeddedEncryptionKey(config);
      config = keyed.config;
      keyed.config.encryptionKeys.forEach((k) => logger.registerSecret(k.keyBase64));
      log.warn({
        msg: keyed.generated
          ? 'GENERATED A NEW ENCRYPTION KEY for the secret vault because GITFLEET_ENCRYPTION_KEYS is not set. Losing this file loses every stored kubeconfig. Development only: set GITFLEET_ENCRYPTION_KEYS in production.'
          : 'Using the generated development encryption key from the data directory (GITFLEET_ENCRYPTION_KEYS is not set). Development only.',
        file: keyed.file,
      });
    }
    embedded = await startEmbeddedDatabase(config.dataDir, config.embeddedDatabasePort);
    databaseUrl = embedded.url;
    logger.registerSecret(new URL(databaseUrl).password);
  }

  const app = await createApp(config, databaseUrl, logger);
  await app.listen(config.port, config.host);
  log.log({ msg: 'gitfleet listening', port: config.port, host: config.host });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    log.log({ msg: 'shutting down', signal });
    // Bounded: whatever still runs after the timeout is abandoned.
    setTimeout(() => {
      log.error({ msg: 'graceful shutdown timed out; exiting' });
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    void (async () => {
      try {
        await app.close();
        await embedded?.stop();
        log.log({ msg: 'shutdown complete' });
        process.exit(0);
      } catch (error) {
        log.error(error instanceof Error ? error : String(error));
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: 'gitfleet failed to start',
      error: error instanceof Error ? error.message : String(error),
    }) + '\n',
  );
  process.exit(1);
});
