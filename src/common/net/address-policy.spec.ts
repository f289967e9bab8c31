import { describe, expect, it } from 'vitest';
import {
  addressProblem,
  hostProblem,
  hostRefusal,
  isForbiddenAddress,
} from 'src/common/net/address-policy';

describe('isForbiddenAddress', () => {
  it.each([
    '169.254.169.254',
    '169.254.0.1',
    '0.0.0.0',
    '100.100.100.200',
    'fe80::1',
    'febf::1',
    'fd00:ec2::254',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '[fd00:ec2:0:0:0:0:0:254]',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '140.82.112.3',
    '::1',
    '2001:db8::1',
    'fd00:ec2::253',
    'fec0::1',
  ])('allows %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('hostRefusal', () => {
  it.each([
    ['metadata.google.internal', /metadata/],
    ['METADATA.google.internal.', /metadata/],
    ['169.254.169.254', /link-local/],
    ['2852039166', /numeric/],
    ['0xa9fea9fe', /numeric/],
    ['169.254.43518', /numeric/],
    ['0251.0376.0251.0376', /numeric/],
    ['-oProxyCommand=x', /"-"/],
    ['exa mple.com', /characters/],
    ['', /no host/],
  ])('refuses %s', (host, reason) => {
    expect(hostRefusal(host)).toMatch(reason);
  });

  it.each([
    'github.com',
    'gitlab.example.com',
    '127.0.0.1',
    'localhost',
    'git-server_1.internal',
    '::1',
  ])('accepts %s', (host) => {
    expect(hostRefusal(host)).toBeUndefined();
  });
});

describe('addressProblem and hostProblem (kubeconfig servers)', () => {
  const admin = { allowPrivate: true };
  const tenant = { allowPrivate: false };

  it.each(['169.254.169.254', '[fd00:ec2::254]', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe'])(
    'refuses metadata address %s under every policy',
    (address) => {
      expect(addressProblem(address, admin)).toMatch(/metadata/);
      expect(addressProblem(address, tenant)).toMatch(/metadata/);
    },
  );

  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '[::1]', 'fd12::1'])(
    'allows private %s only when the policy allows private addresses',
    (address) => {
      expect(addressProblem(address, admin)).toBeUndefined();
      expect(addressProblem(address, tenant)).toMatch(/loopback or private/);
    },
  );

  it('refuses metadata host names and, for tenants, localhost', () => {
    expect(hostProblem('Metadata.Google.Internal.', admin)).toMatch(/metadata host/);
    expect(hostProblem('localhost', admin)).toBeUndefined();
    expect(hostProblem('api.localhost', tenant)).toMatch(/loopback/);
    expect(hostProblem('api.example.com', tenant)).toBeUndefined();
  });
});
