import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitUrl } from 'src/modules/sources/git/git-url';
import { SecretScrubber } from 'src/common/redaction/secret-scrubber';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import type { SourcesOptions } from 'src/modules/sources/sources.options';

/** Credentials of a git Source, decrypted only for the duration of one fetch. */
export type GitCredentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'token'; token: string; username?: string }
  | { kind: 'ssh'; privateKey?: string; knownHosts: string };

// git asks "Username for 'https://host:port': " and "Password for 'https://user@host:port': ".
// The helper answers only for the Source's own host, reads the secret from a 0600 file
// (never argv, never the environment) and fails otherwise, so git fails fast.
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  "Username for '"*"://$GITFLEET_ASKPASS_HOST': ")
    if [ -n "$GITFLEET_ASKPASS_USERNAME" ]; then printf '%s\\n' "$GITFLEET_ASKPASS_USERNAME"; exit 0; fi ;;
  "Password for '"*"@$GITFLEET_ASKPASS_HOST': ")
    if [ -r "$GITFLEET_ASKPASS_SECRET_FILE" ]; then exec cat "$GITFLEET_ASKPASS_SECRET_FILE"; fi ;;
esac
exit 1
`;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function hostPort(url: GitUrl): string {
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  return url.port === undefined ? host : `${host}:${url.port}`;
}

/**
 * The private working area of one git invocation sequence: HOME, askpass helper,
 * secret file, SSH key and known_hosts, curl trace. Everything lives in one 0700
 * directory that dispose() removes; callers dispose in a finally block.
 */
export class GitSession {
  readonly scrubber: SecretScrubber;
  private constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
    readonly configArgs: readonly string[],
    readonly traceFile: string | undefined,
    secrets: ReadonlyArray<string | undefined>,
  ) {
    this.scrubber = new SecretScrubber(secrets);
  }

  static async create(
    dir: string,
    url: GitUrl,
    credentials: GitCredentials | undefined,
    options: SourcesOptions,
    caCertificate?: string,
  ): Promise<GitSession> {
    const secrets = credentialSecrets(credentials);
    try {
      return await GitSession.prepare(dir, url, credentials, options, secrets, caCertificate);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      if (error instanceof SourceFetchError) {
        throw error;
      }
      throw new SourceFetchError(
        SourceErrorCode.FetchFailed,
        new SecretScrubber(secrets).scrub(`cannot prepare the fetch: ${(error as Error).message}`),
      );
    }
  }

  private static async prepare(
    dir: string,
    url: GitUrl,
    credentials: GitCredentials | undefined,
    options: SourcesOptions,
    secrets: ReadonlyArray<string | undefined>,
    caCertificate: string | undefined,
  ): Promise<GitSession> {
    const home = join(dir, 'home');
    await mkdir(join(home, '.config'), { recursive: true, mode: 0o700 });
    const askpass = join(dir, 'askpass.sh');
    await writeFile(askpass, ASKPASS_SCRIPT, { mode: 0o700 });

    const env: Record<string, string> = {
      PATH: options.git.searchPath,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: askpass,
      SSH_ASKPASS: askpass,
      SSH_ASKPASS_REQUIRE: 'never',
      GITFLEET_ASKPASS_HOST: hostPort(url),
      GIT_SSH_VARIANT: 'ssh',
      LC_ALL: 'C',
      LANG: 'C',
    };

    const configArgs = [
      '-c', 'core.hooksPath=/dev/null',
      '-c', 'protocol.allow=never',
      '-c', 'protocol.https.allow=always',
      '-c', 'protocol.ssh.allow=always',
      '-c', `protocol.http.allow=${options.allowHttp ? 'always' : 'never'}`,
      '-c', 'protocol.file.allow=never',
      '-c', 'protocol.ext.allow=never',
      '-c', 'protocol.version=2',
      '-c', 'credential.helper=',
      // A redirect could carry the askpass answer to another host.
      '-c', 'http.followRedirects=false',
      '-c', 'core.fsmonitor=false',
      '-c', 'core.symlinks=true',
      '-c', 'submodule.recurse=false',
      '-c', 'fetch.recurseSubmodules=false',
      '-c', 'gc.auto=0',
      '-c', 'maintenance.auto=false',
      '-c', 'advice.detachedHead=false',
      '-c', 'init.defaultBranch=main',
    ]; // prettier-ignore

    let traceFile: string | undefined;
    switch (url.transport) {
      case 'https':
      case 'http': {
        if (credentials?.kind === 'ssh') {
          throw new SourceFetchError(
            SourceErrorCode.InvalidCredentials,
            'SSH credentials cannot be used with an HTTP(S) repository URL',
          );
        }
        if (credentials !== undefined) {
          const secretFile = join(dir, 'secret');
          const secret = credentials.kind === 'basic' ? credentials.password : credentials.token;
          await writeFile(secretFile, secret, { mode: 0o600 });
          env.GITFLEET_ASKPASS_SECRET_FILE = secretFile;
          env.GITFLEET_ASKPASS_USERNAME =
            credentials.kind === 'basic' ? credentials.username : (credentials.username ?? 'git');
        }
        if (caCertificate !== undefined && caCertificate.trim() !== '') {
          // Trust exactly this CA bundle (a private git server's CA), nothing else.
          const caFile = join(dir, 'ca.pem');
          await writeFile(caFile, caCertificate, { mode: 0o600 });
          env.GIT_SSL_CAINFO = caFile;
        }
        // Headers only: the status and Retry-After of a refused request.
        traceFile = join(dir, 'curl-trace');
        env.GIT_TRACE_CURL = traceFile;
        env.GIT_TRACE_CURL_NO_DATA = '1';
        env.GIT_TRACE_REDACT = '1';
        break;
      }
      case 'ssh': {
        if (credentials?.kind !== 'ssh') {
          throw new SourceFetchError(
            SourceErrorCode.InvalidCredentials,
            'an SSH repository needs SSH credentials with known_hosts',
          );
        }
        if (credentials.knownHosts.trim() === '') {
          throw new SourceFetchError(
            SourceErrorCode.InvalidCredentials,
            'known_hosts is required for SSH',
          );
        }
        const knownHosts = join(dir, 'known_hosts');
        await writeFile(knownHosts, `${credentials.knownHosts.trim()}\n`, { mode: 0o600 });
        const sshOptions = [
          '-F', '/dev/null',
          '-o', 'StrictHostKeyChecking=yes',
          '-o', `UserKnownHostsFile=${shellQuote(knownHosts)}`,
          '-o', 'GlobalKnownHostsFile=/dev/null',
          '-o', 'UpdateHostKeys=no',
          '-o', 'IdentitiesOnly=yes',
          '-o', 'IdentityAgent=none',
          '-o', 'BatchMode=yes',
          '-o', 'PasswordAuthentication=no',
          '-o', 'KbdInteractiveAuthentication=no',
          '-o', 'ControlMaster=no',
          '-o', 'ControlPath=none',
          '-o', 'ProxyCommand=none',
          '-o', 'PermitLocalCommand=no',
          '-o', 'ClearAllForwardings=yes',
          '-o', 'ConnectTimeout=20',
        ]; // prettier-ignore
        if (credentials.privateKey !== undefined && credentials.privateKey.trim() !== '') {
          const keyFile = join(dir, 'identity');
          // OpenSSH refuses keys without a trailing newline.
          await writeFile(keyFile, `${credentials.privateKey.trim()}\n`, { mode: 0o600 });
          sshOptions.push('-o', `IdentityFile=${shellQuote(keyFile)}`);
        } else {
          sshOptions.push('-o', 'IdentityFile=none');
        }
        // git runs GIT_SSH_COMMAND through sh; every path in it is quoted, no secret is in it.
        env.GIT_SSH_COMMAND = [shellQuote(options.git.sshBinary), ...sshOptions].join(' ');
        break;
      }
    }
    return new GitSession(dir, env, configArgs, traceFile, secrets);
  }

  /** Reads and clears the curl trace (HTTP transports only). */
  async takeTrace(): Promise<string> {
    if (this.traceFile === undefined) {
      return '';
    }
    try {
      const text = await readFile(this.traceFile, 'utf8');
      await rm(this.traceFile, { force: true });
      return text;
    } catch {
      return '';
    }
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function credentialSecrets(credentials: GitCredentials | undefined): Array<string | undefined> {
  if (credentials === undefined) {
    return [];
  }
  switch (credentials.kind) {
    case 'basic':
      return [credentials.password, `${credentials.username}:${credentials.password}`];
    case 'token':
      return [credentials.token, `${credentials.username ?? 'git'}:${credentials.token}`];
    case 'ssh':
      return [credentials.privateKey];
  }
}
