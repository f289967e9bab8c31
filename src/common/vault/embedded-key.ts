import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig, EncryptionKeyConfig } from 'src/common/config/config';

export const EMBEDDED_KEY_FILE = 'encryption-keys';
const EMBEDDED_KEY_ID = 'embedded';

export interface EmbeddedKeyResult {
  readonly config: AppConfig;
  /** True when the key was created just now (first start). */
  readonly generated: boolean;
  readonly file: string;
}

/**
 * The embedded (development) default runs without GITFLEET_ENCRYPTION_KEYS:
 * a key is generated on first start and kept 0600 beside the embedded
 * database it protects. Anything else must configure keys; loadConfig
 * refuses DATABASE_URL without them.
 */
export async function withEmbeddedEncryptionKey(config: AppConfig): Promise<EmbeddedKeyResult> {
  const file = join(config.dataDir, EMBEDDED_KEY_FILE);
  if (config.encryptionKeys.length > 0) {
    return { config, generated: false, file };
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  let generated = false;
  let key: EncryptionKeyConfig;
  try {
    key = parseKeyFile(await readFile(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
    key = { id: EMBEDDED_KEY_ID, keyBase64: randomBytes(32).toString('base64') };
    // 'wx': never overwrite a key another process wrote meanwhile.
    await writeFile(file, `${key.id}:${key.keyBase64}\n`, { mode: 0o600, flag: 'wx' });
    generated = true;
  }
  const next: AppConfig = Object.freeze({
    ...config,
    encryptionKeys: [key],
    encryptionActiveKeyId: key.id,
  });
  return { config: next, generated, file };
}

function parseKeyFile(text: string, file: string): EncryptionKeyConfig {
  const [id, keyBase64] = text.trim().split(':');
  if (
    id === undefined ||
    keyBase64 === undefined ||
    Buffer.from(keyBase64, 'base64').length !== 32
  ) {
    throw new Error(`${file} is not a valid gitfleet key file (expected id:base64key)`);
  }
  return { id, keyBase64 };
}
