import {
  PLAIN_HTTP_REFUSED,
  SourceErrorCode,
  SourceFetchError,
} from 'src/modules/sources/sources.errors';
import { hostRefusal } from 'src/common/net/address-policy';
import { scrubUrlUserinfo } from 'src/common/redaction/secret-scrubber';

export type GitTransport = 'https' | 'http' | 'ssh';

export interface GitUrl {
  transport: GitTransport;
  /** Host name or IP literal (IPv6 without brackets). */
  host: string;
  port?: number;
  /** SSH login user (`git` in `git@github.com:org/repo`). Never set for HTTP(S). */
  username?: string;
  /** The URL handed to git: no password, no HTTP userinfo. */
  url: string;
  /** The URL for messages and status. */
  display: string;
}

export interface GitUrlPolicy {
  allowHttp: boolean;
}

function invalid(raw: string, reason: string): SourceFetchError {
  return new SourceFetchError(
    SourceErrorCode.InvalidUrl,
    `invalid repository URL "${scrubUrlUserinfo(raw).slice(0, 200)}": ${reason}`,
  );
}

function checkHost(raw: string, host: string): void {
  const refusal = hostRefusal(host);
  if (refusal !== undefined) {
    throw invalid(raw, refusal);
  }
}

const SCP_LIKE = /^(?:([^@/:[\]]+)@)?([^@/:[\]]+|\[[0-9a-fA-F:.]+\]):(.+)$/;

/**
 * Validates a Source URL. Only https, ssh (URL or scp-like `user@host:path`) and, when
 * allowed, http. Refused: other schemes (file, git, ext::…), local paths, anything
 * starting with "-", passwords in the URL, link-local and metadata hosts.
 */
export function parseGitUrl(raw: string, policy: GitUrlPolicy): GitUrl {
  if (raw.length === 0 || raw.length > 2048) {
    throw invalid(raw, 'the URL must have 1 to 2048 characters');
  }
  if (raw.startsWith('-')) {
    throw invalid(raw, 'a URL must not start with "-"');
  }
  if (
    /\s/.test(raw) ||
    [...raw].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
  ) {
    throw invalid(raw, 'whitespace and control characters are not allowed');
  }
  // git's "<transport>::<address>" syntax selects remote helpers such as ext:: (runs a command).
  if (/^[a-zA-Z0-9+.-]*::/.test(raw)) {
    throw invalid(raw, 'transport::address URLs are not allowed');
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    return parseSchemeUrl(raw, scheme, policy);
  }
  const scp = SCP_LIKE.exec(raw);
  if (scp === null) {
    throw invalid(raw, 'only https://, ssh:// and user@host:path URLs are allowed');
  }
  const [, username, hostPart = '', path = ''] = scp;
  const host = hostPart.replace(/^\[|\]$/g, '');
  if (username !== undefined && (username.startsWith('-') || username.includes(':'))) {
    throw invalid(raw, 'the SSH user must not start with "-" or contain a password');
  }
  checkHost(raw, host);
  if (path.startsWith('-') || path.startsWith('//')) {
    throw invalid(raw, 'the repository path must not start with "-" or "//"');
  }
  return {
    transport: 'ssh',
    host,
    ...(username === undefined ? {} : { username }),
    url: raw,
    display: raw,
  };
}

function parseSchemeUrl(raw: string, scheme: string, policy: GitUrlPolicy): GitUrl {
  let transport: GitTransport;
  switch (scheme) {
    case 'https':
      transport = 'https';
      break;
    case 'ssh':
      transport = 'ssh';
      break;
    case 'http':
      if (!policy.allowHttp) {
        throw invalid(raw, PLAIN_HTTP_REFUSED);
      }
      transport = 'http';
      break;
    case 'git':
      // No setting allows git://: it has neither encryption nor server authentication.
      throw invalid(
        raw,
        'the "git" scheme is refused: git:// is neither encrypted nor authenticated and no setting allows it; use https:// or ssh://',
      );
    default:
      throw invalid(raw, `the "${scheme}" scheme is not allowed; use https:// or ssh://`);
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw invalid(raw, 'the URL cannot be parsed');
  }
  if (parsed.password !== '') {
    throw invalid(raw, 'credentials must not be part of the URL; use the Source credentials');
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw invalid(raw, 'query strings and fragments are not allowed');
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  checkHost(raw, host);
  if (parsed.pathname === '' || parsed.pathname === '/') {
    throw invalid(raw, 'the URL has no repository path');
  }
  const port = parsed.port === '' ? undefined : Number(parsed.port);
  if (transport !== 'ssh' && parsed.username !== '') {
    throw invalid(raw, 'credentials must not be part of the URL; use the Source credentials');
  }
  const username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  if (username?.startsWith('-') === true) {
    throw invalid(raw, 'the SSH user must not start with "-"');
  }
  const url = parsed.toString();
  return {
    transport,
    host,
    ...(port === undefined ? {} : { port }),
    ...(username === undefined ? {} : { username }),
    url,
    display: url,
  };
}
