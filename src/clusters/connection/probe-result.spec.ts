import { describe, expect, it } from 'vitest';
import { changeSummary } from 'src/modules/events/audit.interceptor';
import { classifyProbeError, conditionsAfterProbe, conditionsEqual } from './probe-result';

const fetchFailed = (code: string): Error =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code }) });

describe('classifyProbeError', () => {
  it.each([
    [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'Timeout'],
    [fetchFailed('ECONNREFUSED'), 'ConnectionRefused'],
    [fetchFailed('ENOTFOUND'), 'DnsLookupFailed'],
    [fetchFailed('DEPTH_ZERO_SELF_SIGNED_CERT'), 'TlsHandshakeFailed'],
    [fetchFailed('ERR_TLS_CERT_ALTNAME_INVALID'), 'TlsHandshakeFailed'],
    [fetchFailed('UND_ERR_CONNECT_TIMEOUT'), 'Timeout'],
    [
      Object.assign(new Error('HTTP-Code: 401 Body: {"token":"leak"}'), {
        code: 401,
        body: 'leak',
      }),
      'Unauthorized',
    ],
    [Object.assign(new Error('x'), { code: 403 }), 'Forbidden'],
    [Object.assign(new Error('x'), { code: 503 }), 'ServerError'],
    [
      new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })]),
      'ConnectionRefused',
    ],
    [new Error('something odd'), 'Unreachable'],
  ])('%s → %s, with a message built from codes only', (error, reason) => {
    const r = classifyProbeError(error, 5);
    expect(r).toMatchObject({ reachable: false, reason });
    expect(JSON.stringify(r)).not.toContain('leak');
  });
});

describe('conditionsAfterProbe', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');

  it('keeps lastTransitionTime while the status holds and moves it on a change', () => {
    const up = conditionsAfterProbe([], { reachable: true, version: 'v1.31.0' }, t0);
    expect(up.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Reachable'],
      ['Reachable', 'True', 'VersionRetrieved'],
    ]);
    const again = conditionsAfterProbe(up, { reachable: true, version: 'v1.31.0' }, t1);
    expect(conditionsEqual(again, up)).toBe(true);
    const down = conditionsAfterProbe(
      up,
      { reachable: false, reason: 'Timeout', message: 'slow' },
      t1,
    );
    expect(
      down.every((c) => c.status === 'False' && c.lastTransitionTime === t1.toISOString()),
    ).toBe(true);
    expect(conditionsEqual(down, up)).toBe(false);
  });
});

describe('audit change summary', () => {
  it('copies allow-listed fields only and redacts secrets by name', () => {
    const summary = changeSummary(
      {
        action: 'cluster.register',
        objectKind: 'Cluster',
        changes: ['name', 'labels'],
        redacted: ['kubeconfig'],
      },
      {
        params: {},
        query: {},
        result: undefined,
        body: { name: 'c', labels: { a: 'b' }, kubeconfig: 'token: secret', other: 'x' },
      },
    );
    expect(summary).toEqual({ name: 'c', labels: { a: 'b' }, kubeconfig: '[REDACTED]' });
  });
});
