import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig, secretValues } from 'src/common/config/config';
import { EMBEDDED_KEY_FILE, withEmbeddedEncryptionKey } from './embedded-key';
import { vaultFromConfig } from './vault.module';

const key = (): string => randomBytes(32).toString('base64');
const DB = 'postgres://u:p@db:5432/gitfleet';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('encryption key configuration', () => {
  it('parses several keys with an active one, and marks them secret', () => {
    const [a, b] = [key(), key()];
    const config = loadConfig({
      GITFLEET_ENCRYPTION_KEYS: `old:${a},new:${b}`,
      GITFLEET_ENCRYPTION_ACTIVE_KEY: 'new',
    });
    expect(config.encryptionKeys.map((k) => k.id)).toEqual(['old', 'new']);
    expect(config.encryptionActiveKeyId).toBe('new');
    expect(secretValues(config)).toEqual(expect.arrayContaining([a, b]));
    expect(vaultFromConfig(config).activeKeyId).toBe('new');
  });

  it('takes the only key as active', () => {
    expect(loadConfig({ GITFLEET_ENCRYPTION_KEYS: `k:${key()}` }).encryptionActiveKeyId).toBe('k');
  });

  it('fails start-up with DATABASE_URL and no keys, never quoting key material', () => {
    expect(problems({ DATABASE_URL: DB })).toContain(
      'GITFLEET_ENCRYPTION_KEYS: required when DATABASE_URL is set',
    );
    const short = randomBytes(16).toString('base64');
    const message = problems({ DATABASE_URL: DB, GITFLEET_ENCRYPTION_KEYS: `k:${short}` });
    expect(message).toContain('must be 32 bytes');
    expect(message).not.toContain(short);
    expect(problems({ GITFLEET_ENCRYPTION_KEYS: `a:${key()},a:${key()}` })).toContain(
      'listed twice',
    );
    expect(problems({ GITFLEET_ENCRYPTION_KEYS: `a:${key()},b:${key()}` })).toContain(
      'GITFLEET_ENCRYPTION_ACTIVE_KEY: required',
    );
    expect(
      problems({ GITFLEET_ENCRYPTION_KEYS: `a:${key()}`, GITFLEET_ENCRYPTION_ACTIVE_KEY: 'b' }),
    ).toContain('must be one of');
    expect(problems({ GITFLEET_ENCRYPTION_KEYS: 'no-colon' })).toContain('id:base64key');
  });

  it('generates the embedded default key once, 0600, and reuses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-key-'));
    const config = loadConfig({ GITFLEET_DATA_DIR: dataDir });
    expect(config.encryptionKeys).toEqual([]);
    const first = await withEmbeddedEncryptionKey(config);
    expect(first.generated).toBe(true);
    expect(statSync(join(dataDir, EMBEDDED_KEY_FILE)).mode & 0o777).toBe(0o600);
    const second = await withEmbeddedEncryptionKey(config);
    expect(second.generated).toBe(false);
    expect(second.config.encryptionKeys).toEqual(first.config.encryptionKeys);
    expect(readFileSync(join(dataDir, EMBEDDED_KEY_FILE), 'utf8')).toContain(
      first.config.encryptionKeys[0].keyBase64,
    );
    expect(vaultFromConfig(second.config).activeKeyId).toBe('embedded');
  });

  it('without any key the vault refuses to start instead of storing plaintext', () => {
    expect(() => vaultFromConfig(loadConfig({}))).toThrow(
      expect.objectContaining({ code: 'NoEncryptionKey' }),
    );
  });
});
