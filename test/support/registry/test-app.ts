import { randomBytes } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from 'src/app.factory';
import { loadConfig, secretValues } from 'src/common/config/config';
import { JsonLogger } from 'src/common/logging/json-logger';

export interface TestResponse {
  status: number;
  body: any;
  text: string;
}

export interface TestApp {
  app: NestExpressApplication;
  baseUrl: string;
  adminToken: string;
  /** Every log line the app wrote. */
  logs: string[];
  /** Every response body the suite received (for canary scans). */
  responses: string[];
  request(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

export const testEncryptionKey = (): string => randomBytes(32).toString('base64');

/** The whole app in-process on a given database, listening on a random loopback port. */
export async function startTestApp(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const adminToken = `admin-${randomBytes(24).toString('hex')}`;
  const config = loadConfig({
    GITFLEET_ADMIN_TOKEN: adminToken,
    GITFLEET_ENCRYPTION_KEYS: `k1:${testEncryptionKey()}`,
    CLUSTER_PROBE_INTERVAL_SECONDS: '3600',
    CLUSTER_PROBE_TIMEOUT_SECONDS: '2',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const responses: string[] = [];
  const logger = new JsonLogger(config.logLevel, (line) => logs.push(line));
  // As main.ts does: redaction is the last line of defence; tests scan for leaks anyway.
  secretValues(config).forEach((s) => logger.registerSecret(s));
  const app = await createApp(config, databaseUrl, logger);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    app,
    baseUrl,
    adminToken,
    logs,
    responses,
    async request(method, path, body, token = adminToken) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      responses.push(text);
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text };
    },
    close: () => app.close(),
  };
}
