import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { Readable } from 'node:stream';
import {
  type ConnectionOptions,
  createSecureContext,
  getCACertificates,
  type SecureContext,
} from 'node:tls';
import { Injectable } from '@nestjs/common';

/** Extra trust for one request. */
export interface HttpTrust {
  /** PEM certificates trusted in addition to the process's default roots. */
  readonly caCertificates: readonly string[];
}

// Statuses whose responses never have a body (the Fetch standard's "null body status").
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const MAX_CONTEXTS = 32;

/**
 * Port for outbound HTTP: undici's global fetch in production. A request with extra
 * trust goes through node:https with a secure context of the default roots plus the
 * given CAs (what Flux does with a HelmRepository's `ca.crt`): fetch cannot take a CA
 * without undici's own Agent, and `ca` alone would replace the default roots.
 */
@Injectable()
export class HttpClient {
  // Building a context parses every root (~30 ms), so one per distinct CA bundle.
  private readonly contexts = new Map<string, SecureContext>();

  fetch(url: string, init: RequestInit, trust?: HttpTrust): Promise<Response> {
    if (trust === undefined || !url.startsWith('https:')) {
      return fetch(url, init);
    }
    return fetchWithContext(url, init, this.secureContext(trust.caCertificates));
  }

  private secureContext(caCertificates: readonly string[]): SecureContext {
    const key = createHash('sha256').update(caCertificates.join('\n')).digest('hex');
    let context = this.contexts.get(key);
    if (context === undefined) {
      context = createSecureContext({
        ca: [...getCACertificates('default'), ...caCertificates],
      });
      if (this.contexts.size >= MAX_CONTEXTS) {
        this.contexts.delete(this.contexts.keys().next().value as string);
      }
    } else {
      this.contexts.delete(key);
    }
    this.contexts.set(key, context);
    return context;
  }
}

/**
 * One HTTPS request as fetch would answer it: never follows redirects, rejects with
 * `TypeError('fetch failed', { cause })` on network and TLS errors, and with the
 * signal's reason (also mid-body) when aborted. A fresh connection each time (no
 * agent): a pooled socket must not carry a request verified against another trust.
 */
function fetchWithContext(
  url: string,
  init: RequestInit,
  secureContext: SecureContext,
): Promise<Response> {
  const signal = init.signal ?? undefined;
  if (signal?.aborted === true) {
    return Promise.reject(signal.reason as Error);
  }
  // An abort reason is a DOMException (AbortError, TimeoutError), as fetch rejects with.
  const failed = (error: unknown): Error =>
    signal?.aborted === true
      ? (signal.reason as Error)
      : new TypeError('fetch failed', { cause: error });
  // https passes secureContext on to tls.connect; its typings only omit it.
  const options: RequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
    method: init.method ?? 'GET',
    headers: Object.fromEntries(new Headers(init.headers).entries()),
    secureContext,
    agent: false,
  };
  return new Promise<Response>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    // Destroyed with the reason itself, so a body read fails as fetch's would.
    const onAbort = (): void => {
      const reason = signal?.reason as Error;
      response?.destroy(reason);
      req.destroy(reason);
    };
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    const req = httpsRequest(url, options, (res) => {
      response = res;
      res.on('close', done);
      const headers = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
      }
      const status = res.statusCode ?? 0;
      const empty = NULL_BODY_STATUS.has(status) || init.method === 'HEAD';
      if (empty) {
        res.resume();
      }
      try {
        const body = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
      } catch (error) {
        res.destroy();
        reject(failed(error));
      }
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => {
      done();
      reject(failed(error));
    });
    req.end();
  });
}
