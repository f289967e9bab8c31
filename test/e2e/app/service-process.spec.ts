import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, runAppToExit, startAppProcess } from 'test/support/app/app-process';

describe('the built service on the embedded database', () => {
  let app: AppProcess;

  beforeAll(async () => {
    app = await startAppProcess();
  });

  afterAll(async () => {
    if (app.child.exitCode === null) {
      await app.stop('SIGKILL');
    }
  });

  it('is live and ready', async () => {
    expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok' });
  });

  it('warns that the embedded database is single-replica', () => {
    expect(app.output()).toMatch(/EMBEDDED PostgreSQL: single replica only, not for production/);
  });

  it('answers an unknown route with the uniform 404 body and echoes the request id', async () => {
    const res = await fetch(`${app.baseUrl}/no/such/route/42`, {
      headers: { 'X-Request-Id': 'req-e2e-404' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('req-e2e-404');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 404, error: 'Not Found', requestId: 'req-e2e-404' });
    expect(typeof body.message).toBe('string');
  });

  it('generates a request id when none is given', async () => {
    const res = await fetch(`${app.baseUrl}/healthz`);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes the HTTP histogram labelled by route template, never by raw path', async () => {
    await fetch(`${app.baseUrl}/readyz`);
    await fetch(`${app.baseUrl}/unknown-abc-123`);
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(text).toContain('# TYPE gitfleet_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /gitfleet_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} \d+/,
    );
    expect(text).toMatch(/route="unmatched",status="404"/);
    expect(text).not.toContain('unknown-abc-123');
    expect(text).toContain('gitfleet_process_resident_memory_bytes');
  });

  it('serves the OpenAPI document', async () => {
    const res = await fetch(`${app.baseUrl}/api/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/readyz');
  });

  it('exits 0 on SIGTERM within the shutdown timeout, finishing in-flight requests', async () => {
    // A request whose body is still arriving when SIGTERM lands must be answered.
    const req = request(`${app.baseUrl}/api/v1/slow-upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '20' },
    });
    const response = new Promise<number>((ok, fail) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
      });
      req.on('error', fail);
    });
    req.write('{"payload":');
    await new Promise((r) => setTimeout(r, 300));
    const stopped = app.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    req.end('"slow"}  ');
    expect(await response).toBe(404);
    const { code, ms } = await stopped;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(15_000);
    expect(app.output()).toContain('shutdown complete');
  });
});

describe('bad configuration', () => {
  it('exits non-zero naming every bad variable, without any secret', async () => {
    const { code, output } = await runAppToExit({
      DATABASE_URL: 'mysql://admin:canary-db-password-7731@db.example/gitfleet',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      GITFLEET_ADMIN_TOKEN: 'canary-short-token',
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    for (const name of ['DATABASE_URL', 'PORT', 'LOG_LEVEL', 'GITFLEET_ADMIN_TOKEN']) {
      expect(output).toContain(name);
    }
    expect(output).toContain('"eighty"');
    expect(output).not.toContain('canary-db-password-7731');
    expect(output).not.toContain('canary-short-token');
  });

  it('refuses a malformed DATABASE_URL', async () => {
    const { code, output } = await runAppToExit({ DATABASE_URL: 'not a url' });
    expect(code).toBe(2);
    expect(output).toMatch(/DATABASE_URL: must be a URL/);
  });
});
