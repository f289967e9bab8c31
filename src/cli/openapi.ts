import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { API_PREFIX, apiPrefixExclusions, buildOpenApiDocument } from 'src/app.factory';
import { AppModule } from 'src/app.module';
import { loadConfig } from 'src/common/config/config';

/**
 * Writes the OpenAPI document generated from the code. Runs in Nest's preview
 * mode: controllers and DTO metadata are read, no provider is started, so no
 * database is needed. CI regenerates it and fails on a diff.
 */
async function main(): Promise<void> {
  const out = process.argv[2] ?? 'openapi.json';
  const config = loadConfig({});
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, 'postgres://openapi@127.0.0.1:1/openapi'),
    { preview: true, logger: false, abortOnError: false },
  );
  app.setGlobalPrefix(API_PREFIX, { exclude: apiPrefixExclusions });
  const document = buildOpenApiDocument(app);
  writeFileSync(out, JSON.stringify(document, null, 2) + '\n');
  await app.close();
}

void main();
