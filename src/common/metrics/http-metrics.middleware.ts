import type { NextFunction, Request, Response } from 'express';
import type { MetricsService } from './metrics.service';

/** Route template of a matched request; unmatched requests share one label value. */
export function routeTemplate(req: Request): string {
  const route = (req as unknown as { route?: { path?: unknown } }).route;
  if (route !== undefined && typeof route.path === 'string') {
    return `${req.baseUrl}${route.path}`;
  }
  return 'unmatched';
}

export function httpMetricsMiddleware(
  metrics: MetricsService,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const stop = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - stop) / 1e9;
      metrics.httpRequestDuration.observe(
        { method: req.method, route: routeTemplate(req), status: String(res.statusCode) },
        seconds,
      );
    });
    next();
  };
}
