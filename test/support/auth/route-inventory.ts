import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { API_PREFIX, apiPrefixExclusions } from 'src/app.factory';
import { ACCESS_RULE, type AccessRule } from 'src/common/auth/access.decorator';

export interface RouteEntry {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** Express-style path with `:params`, e.g. `/api/v1/tenants/:tenant/sources`. */
  readonly path: string;
  readonly rule: AccessRule | undefined;
  /** `SourcesController.create`. */
  readonly handler: string;
}

const joinPath = (...parts: string[]): string =>
  '/' +
  parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/');

/**
 * Every route the Nest application registered, with the access rule the
 * AccessGuard will read for it (method rule over controller rule).
 */
export function routeInventory(app: INestApplication): RouteEntry[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const excluded = new Set(apiPrefixExclusions.map((e) => e.path));
  const routes: RouteEntry[] = [];
  for (const wrapper of discovery.getControllers()) {
    const metatype = wrapper.metatype as (new (...args: never[]) => object) | undefined;
    if (metatype === undefined || metatype === null) {
      continue;
    }
    const prototype = metatype.prototype as Record<string, unknown>;
    const controllerPaths = [Reflect.getMetadata(PATH_METADATA, metatype) as string | string[]]
      .flat()
      .map((p) => p ?? '');
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as object;
      const methodPath = Reflect.getMetadata(PATH_METADATA, handler) as
        string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (methodPath === undefined || method === undefined) {
        continue;
      }
      const rule = reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
        handler as () => void,
        metatype,
      ]);
      for (const c of controllerPaths) {
        for (const m of [methodPath].flat()) {
          const local = joinPath(c, m);
          const path = excluded.has(local.slice(1)) ? local : joinPath(API_PREFIX, local);
          routes.push({
            method: RequestMethod[method],
            path,
            rule,
            handler: `${metatype.name}.${name}`,
          });
        }
      }
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** Method + path of every route in the Express router (Nest routes and e.g. Swagger UI). */
export function expressRoutes(app: INestApplication): { method: string; path: string }[] {
  const instance = app.getHttpAdapter().getInstance() as {
    router?: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
    _router?: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  const stack = (instance.router ?? instance._router)?.stack ?? [];
  return stack.flatMap((layer) =>
    layer.route === undefined
      ? []
      : Object.keys(layer.route.methods)
          .filter((m) => layer.route!.methods[m])
          .map((m) => ({ method: m.toUpperCase(), path: layer.route!.path })),
  );
}
