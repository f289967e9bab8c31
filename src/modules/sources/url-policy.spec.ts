import { describe, expect, it } from 'vitest';
import { hostRefusal, isForbiddenAddress } from 'src/modules/sources/url-policy';

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
