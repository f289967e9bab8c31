import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpClient } from 'src/modules/sources/ports/http-client';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

vi.mock('node:tls', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:tls')>();
  return { ...original, createSecureContext: vi.fn(original.createSecureContext) };
});

describe('HttpClient with extra trust', () => {
  let server: Server;
  let ca: string;
  let base: string;
  const sut = new HttpClient();

  beforeAll(async () => {
    const authority = await createCertificateAuthority('http-client spec CA');
    const leaf = await authority.issue({ commonName: '127.0.0.1', server: true });
    ca = authority.certPem;
    server = createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/elsewhere' }).end();
      } else if (req.url === '/same') {
        res.writeHead(304, { etag: '"x"' }).end();
      } else if (req.url === '/slow') {
        res.writeHead(200).write('part');
      } else {
        res.writeHead(200, { 'x-auth': req.headers.authorization ?? '' }).end('hello');
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  it('trusts the default roots plus the given CA, never the CA alone', async () => {
    const res = await sut.fetch(
      `${base}/`,
      { headers: { authorization: 'Basic abc' } },
      { caCertificates: [ca] },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth')).toBe('Basic abc');
    expect(await res.text()).toBe('hello');
    const createSecureContext = vi.mocked(tls.createSecureContext);
    const given = createSecureContext.mock.calls.at(-1)?.[0]?.ca as string[];
    expect(given.at(-1)).toBe(ca);
    expect(given.slice(0, -1)).toEqual(tls.getCACertificates('default'));

    // One context per CA bundle, reused.
    await (await sut.fetch(`${base}/`, {}, { caCertificates: [ca] })).text();
    expect(createSecureContext).toHaveBeenCalledTimes(1);
  });

  it('answers like fetch with redirect "manual": no following, 304 without a body', async () => {
    const moved = await sut.fetch(
      `${base}/moved`,
      { redirect: 'manual' },
      { caCertificates: [ca] },
    );
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    const same = await sut.fetch(`${base}/same`, {}, { caCertificates: [ca] });
    expect(same.status).toBe(304);
    expect(same.body).toBeNull();
    expect(same.headers.get('etag')).toBe('"x"');
  });

  it('fails like fetch: TypeError with the TLS cause, or the abort reason', async () => {
    const other = await createCertificateAuthority('unrelated CA');
    const error = await sut.fetch(`${base}/`, {}, { caCertificates: [other.certPem] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe(
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );

    const res = await sut.fetch(
      `${base}/slow`,
      { signal: AbortSignal.timeout(200) },
      { caCertificates: [ca] },
    );
    const aborted = await res.text().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(aborted?.name).toBe('TimeoutError');
  });
});
