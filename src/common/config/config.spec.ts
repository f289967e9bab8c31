import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigValidationError, loadConfig, secretValues } from './config';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const sut = loadConfig({}, '/srv');
    expect(sut).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      databaseUrl: undefined,
      dataDir: '/srv/.data',
      adminToken: undefined,
    });
    expect(Object.isFrozen(sut)).toBe(true);
  });

  it('lists every bad variable in one error, quoting non-secret values only', () => {
    let caught: unknown;
    try {
      loadConfig({
        PORT: '70000',
        DATABASE_URL: 'http://user:hunter2hunter2@db/x',
        GITFLEET_ADMIN_TOKEN: 'too-short-secret',
        DATABASE_POOL_SIZE: '0',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigValidationError);
    const error = caught as ConfigValidationError;
    expect(error.problems.length).toBeGreaterThanOrEqual(4);
    expect(error.message).toContain('PORT: must be an integer between 0 and 65535 (got "70000")');
    expect(error.message).toContain('DATABASE_URL: must use the postgres://');
    expect(error.message).toContain('GITFLEET_ADMIN_TOKEN: must be at least 32 characters');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('too-short-secret');
  });

  it('accepts a postgres URL and reports its password as a secret', () => {
    const sut = loadConfig({
      DATABASE_URL: 'postgresql://gf:p%40ss-word-123@db:5432/gitfleet',
      GITFLEET_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    });
    expect(secretValues(sut)).toContain('p@ss-word-123');
  });

  it('documents every variable it reads, in the README too', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    for (const variable of Object.values(CONFIG_VARIABLES)) {
      expect(variable.description.length).toBeGreaterThan(10);
      expect(readme).toMatch(new RegExp(`\\| \`${variable.name}\` +\\|`));
    }
  });
});
