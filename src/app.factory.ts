import { INestApplication, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from 'src/common/config/config';
import { HttpExceptionFilter } from 'src/common/errors/http-exception.filter';
import { createValidationPipe } from 'src/common/errors/validation';
import { JsonLogger } from 'src/common/logging/json-logger';
import { requestIdMiddleware } from 'src/common/logging/request-id.middleware';
import { httpMetricsMiddleware } from 'src/common/metrics/http-metrics.middleware';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { AppModule } from './app.module';

export const API_PREFIX = 'api/v1';

/** Operational endpoints live at the root, outside the versioned API. */
export const apiPrefixExclusions = [
  { path: 'healthz', method: RequestMethod.GET },
  { path: 'readyz', method: RequestMethod.GET },
  { path: 'metrics', method: RequestMethod.GET },
];

/** Builds the fully configured application without listening; main.ts and tests share it. */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  logger: JsonLogger,
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, databaseUrl),
    { logger, bodyParser: false, abortOnError: false },
  );
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  app.useBodyParser('json', { limit: config.requestBodyLimitBytes });
  app.setGlobalPrefix(API_PREFIX, { exclude: apiPrefixExclusions });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.disable('x-powered-by');
  SwaggerModule.setup('api/docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'api/docs-json',
  });
  return app;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('gitfleet')
    .setDescription('GitOps management plane for Kubernetes fleets')
    .setVersion('v1')
    .addBearerAuth()
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}
