import { describe, expect, it } from 'vitest';
import { resolveManagementConnection } from './management-connection';

const CA = Buffer.from(
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----\n',
).toString('base64');

const base = {
  managementKubeconfig: undefined,
  kubernetesServiceHost: undefined,
  kubernetesServicePort: 443,
  managementServiceAccountDir: '/sa',
};

const kubeconfig = (user: Record<string, unknown>): string =>
  JSON.stringify({
    clusters: [{ name: 'm', cluster: { server: 'https://127.0.0.1:6443' } }],
    users: [{ name: 'm', user }],
    contexts: [{ name: 'm', context: { cluster: 'm', user: 'm' } }],
    'current-context': 'm',
  });

describe('the management-cluster connection', () => {
  it('is off without MANAGEMENT_KUBECONFIG and outside a pod', () => {
    expect(resolveManagementConnection(base, () => '')).toEqual({ kind: 'none' });
  });

  it('uses the pod service account, re-reading the token before each request', () => {
    const files: Record<string, string> = { '/sa/ca.crt': 'CA PEM', '/sa/token': 'first\n' };
    const sut = resolveManagementConnection(
      { ...base, kubernetesServiceHost: '10.0.0.1', kubernetesServicePort: 443 },
      (p) => files[p] ?? '',
    );
    expect(sut.kind).toBe('connected');
    if (sut.kind !== 'connected') {
      return;
    }
    expect(sut.connection.server).toBe('https://10.0.0.1:443');
    expect(sut.connection.caPem).toBe('CA PEM');
    expect(sut.connection.token()).toBe('first');
    files['/sa/token'] = 'rotated';
    expect(sut.connection.token()).toBe('rotated');
  });

  it('brackets an IPv6 service host', () => {
    const sut = resolveManagementConnection({ ...base, kubernetesServiceHost: 'fd00::1' }, (p) =>
      p.endsWith('token') ? 't' : 'ca',
    );
    expect(sut.kind === 'connected' && sut.connection.server).toBe('https://[fd00::1]:443');
  });

  it('reads MANAGEMENT_KUBECONFIG through the upload allow-list: a token is accepted', () => {
    const sut = resolveManagementConnection({ ...base, managementKubeconfig: '/k' }, () =>
      kubeconfig({ token: 'abc' }),
    );
    expect(sut.kind === 'connected' && sut.connection.token()).toBe('abc');
    expect(sut.kind === 'connected' && sut.connection.origin).toBe('MANAGEMENT_KUBECONFIG');
  });

  it('refuses an exec plugin or a token file in MANAGEMENT_KUBECONFIG, naming the field', () => {
    for (const user of [
      { exec: { command: '/bin/sh', args: ['-c', 'id'] } },
      { 'token-file': '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    ]) {
      const sut = resolveManagementConnection({ ...base, managementKubeconfig: '/k' }, () =>
        kubeconfig(user),
      );
      expect(sut.kind).toBe('invalid');
      expect(sut.kind === 'invalid' && sut.message).toMatch(/exec|token-file/);
    }
  });

  it('reports an unreadable MANAGEMENT_KUBECONFIG without crashing', () => {
    const sut = resolveManagementConnection({ ...base, managementKubeconfig: '/missing' }, () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    });
    expect(sut).toEqual({ kind: 'invalid', message: expect.stringContaining('ENOENT') as string });
  });

  it('keeps CA data from the kubeconfig', () => {
    const text = JSON.stringify({
      clusters: [
        {
          name: 'm',
          cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': CA },
        },
      ],
      users: [{ name: 'm', user: { token: 't' } }],
      contexts: [{ name: 'm', context: { cluster: 'm', user: 'm' } }],
      'current-context': 'm',
    });
    const sut = resolveManagementConnection({ ...base, managementKubeconfig: '/k' }, () => text);
    // The CA is not a valid certificate here: the sanitizer refuses it rather than trusting it.
    expect(sut.kind).toBe('invalid');
  });
});
