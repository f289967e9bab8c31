import { describe, expect, it } from 'vitest';
import { checkKubeconfigSecret } from './kubeconfig-secret';
import { decideTenant } from './tenant-mapping';

const secret = (overrides: Record<string, unknown> = {}, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'wl-kubeconfig',
    namespace: 'fleet',
    resourceVersion: '42',
    labels: labels ?? { 'cluster.x-k8s.io/cluster-name': 'wl' },
  },
  type: 'cluster.x-k8s.io/secret',
  data: { value: Buffer.from('apiVersion: v1\nkind: Config\n').toString('base64') },
  ...overrides,
});

describe('the <cluster>-kubeconfig Secret check', () => {
  it('accepts the Secret Cluster API writes and decodes data.value', () => {
    expect(checkKubeconfigSecret(secret(), 'wl')).toEqual({
      ok: true,
      kubeconfig: 'apiVersion: v1\nkind: Config\n',
      resourceVersion: '42',
    });
  });

  it('ignores a Secret of another type, saying which', () => {
    const sut = checkKubeconfigSecret(secret({ type: 'Opaque' }), 'wl');
    expect(sut).toMatchObject({ ok: false, reason: 'KubeconfigSecretIgnored' });
    expect(!sut.ok && sut.message).toContain('"Opaque"');
  });

  it('ignores a Secret whose cluster-name label is missing or names another Cluster', () => {
    const variants: Record<string, string>[] = [{}, { 'cluster.x-k8s.io/cluster-name': 'other' }];
    for (const labels of variants) {
      const sut = checkKubeconfigSecret(secret({}, labels), 'wl');
      expect(sut).toMatchObject({ ok: false, reason: 'KubeconfigSecretIgnored' });
      expect(!sut.ok && sut.message).toContain('cluster.x-k8s.io/cluster-name');
    }
  });

  it('reports a Secret without data.value, never quoting data', () => {
    const sut = checkKubeconfigSecret(secret({ data: { other: 'c2VjcmV0' } }), 'wl');
    expect(sut).toMatchObject({ ok: false, reason: 'KubeconfigSecretInvalid' });
    expect(JSON.stringify(sut)).not.toContain('c2VjcmV0');
  });
});

describe('tenant mapping of management namespaces', () => {
  const config = {
    capiTenantNamespaces: { 'team-a-clusters': 'team-a' },
    capiTenantNamespaceLabel: 'gitfleet.dev/tenant',
    capiUnmappedNamespaces: 'platform' as const,
  };

  it('prefers the configured mapping over the namespace label', () => {
    expect(decideTenant('team-a-clusters', { 'gitfleet.dev/tenant': 'team-b' }, config)).toEqual({
      kind: 'tenant',
      tenant: 'team-a',
      from: 'config',
    });
  });

  it('uses the namespace label otherwise', () => {
    expect(decideTenant('x', { 'gitfleet.dev/tenant': 'team-b' }, config)).toEqual({
      kind: 'tenant',
      tenant: 'team-b',
      from: 'label',
    });
  });

  it('makes unmapped namespaces platform clusters or ignores them, as configured', () => {
    expect(decideTenant('x', {}, config)).toEqual({ kind: 'platform' });
    expect(decideTenant('x', {}, { ...config, capiUnmappedNamespaces: 'ignore' })).toEqual({
      kind: 'ignore',
    });
  });
});
