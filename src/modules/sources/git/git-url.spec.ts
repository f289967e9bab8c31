import { describe, expect, it } from 'vitest';
import { parseGitUrl } from 'src/modules/sources/git/git-url';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

describe('parseGitUrl', () => {
  it('accepts https, ssh URLs and scp-like addresses', () => {
    expect(parseGitUrl('https://github.com/org/repo.git', { allowHttp: false })).toMatchObject({
      transport: 'https',
      host: 'github.com',
      url: 'https://github.com/org/repo.git',
    });
    expect(
      parseGitUrl('ssh://git@gitlab.example.com:2222/org/repo.git', { allowHttp: false }),
    ).toMatchObject({
      transport: 'ssh',
      host: 'gitlab.example.com',
      port: 2222,
      username: 'git',
    });
    expect(parseGitUrl('git@github.com:org/repo.git', { allowHttp: false })).toMatchObject({
      transport: 'ssh',
      host: 'github.com',
      username: 'git',
      url: 'git@github.com:org/repo.git',
    });
    expect(parseGitUrl('git@[::1]:org/repo.git', { allowHttp: false })).toMatchObject({
      host: '::1',
    });
  });

  it('accepts http only when the configuration allows it', () => {
    expect(() => parseGitUrl('http://git.local/repo.git', { allowHttp: false })).toThrow(
      /plain http:\/\/ is refused .*set SOURCE_ALLOW_HTTP=true to accept it/,
    );
    expect(parseGitUrl('http://git.local/repo.git', { allowHttp: true }).transport).toBe('http');
  });

  it('refuses git:// whatever the configuration, saying no setting allows it', () => {
    for (const allowHttp of [false, true]) {
      expect(() => parseGitUrl('git://github.com/org/repo.git', { allowHttp })).toThrow(
        /git:\/\/ is neither encrypted nor authenticated and no setting allows it; use https:\/\/ or ssh:\/\//,
      );
    }
  });

  it.each([
    ['file:///etc/passwd', /scheme/],
    ['/srv/git/repo.git', /only https/],
    ['./repo', /only https/],
    ['ext::sh -c touch% /tmp/pwned', /whitespace|transport::address/],
    ['ext::ssh', /transport::address/],
    ['fd::3', /transport::address/],
    ['git://github.com/org/repo.git', /scheme/],
    ['-uhttps://x/y', /start with "-"/],
    ['--upload-pack=touch /tmp/x', /start with "-"/],
    ['ssh://-oProxyCommand=x/repo', /"-"/],
    ['-oProxyCommand=x@host:repo', /start with "-"/],
    ['host:-repo', /must not start with "-"/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://[fd00:ec2::254]/x', /link-local/],
    ['https://metadata.google.internal/x', /metadata/],
    ['https://2852039166/x', /link-local|numeric/],
    ['https://github.com', /no repository path/],
    ['https://github.com/x?y=1', /query/],
    ['https://github.com/a b', /whitespace/],
    ['https://github.com/a\u0000b', /control/],
  ])('refuses %s', (url, reason) => {
    expect(() => parseGitUrl(url, { allowHttp: true })).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidUrl }),
    );
    expect(() => parseGitUrl(url, { allowHttp: true })).toThrow(reason);
  });

  it('refuses credentials in the URL without echoing them', () => {
    for (const url of [
      'https://bob:hunter2@github.com/x.git',
      'ssh://git:hunter2@github.com/x.git',
      'https://token@github.com/x.git',
    ]) {
      const error = (() => {
        try {
          parseGitUrl(url, { allowHttp: false });
          return undefined;
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.message).toMatch(/credentials|password/);
      expect(error?.message).not.toContain('hunter2');
    }
  });
});
