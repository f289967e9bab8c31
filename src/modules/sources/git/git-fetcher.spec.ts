import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { GitFetcher, type GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import {
  ProcessRunner,
  type ProcessResult,
  type ProcessRunOptions,
} from 'src/common/process/process-runner';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';
import { defaultSourcesOptions, type SourcesOptions } from 'src/modules/sources/sources.options';

const SHA = '1'.repeat(40);
const SECRET = 'small-test-canary-secret';

interface Call {
  args: string[];
  env: Record<string, string>;
  /** Files the call could see, read while it ran. */
  secretFile?: { mode: number; content: string };
  keyFile?: { mode: number };
}

class FakeProcessRunner extends ProcessRunner {
  readonly calls: Call[] = [];
  respond: (args: string[]) => Partial<ProcessResult> = () => ({});

  override async run(
    _command: string,
    args: readonly string[],
    options: ProcessRunOptions,
  ): Promise<ProcessResult> {
    const call: Call = { args: [...args], env: { ...options.env } };
    const secretPath = options.env.GITFLEET_ASKPASS_SECRET_FILE;
    if (secretPath !== undefined) {
      call.secretFile = {
        mode: (await stat(secretPath)).mode & 0o777,
        content: await readFile(secretPath, 'utf8'),
      };
    }
    const identity = /IdentityFile='([^']+)'/.exec(options.env.GIT_SSH_COMMAND ?? '')?.[1];
    if (identity !== undefined) {
      call.keyFile = { mode: (await stat(identity)).mode & 0o777 };
    }
    this.calls.push(call);
    return {
      exitCode: 0,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: '',
      timedOut: false,
      aborted: false,
      outputLimitExceeded: false,
      ...this.respond([...args]),
    };
  }
}

class FakeResolver extends HostResolver {
  addresses = ['140.82.112.3'];
  override resolve(): Promise<string[]> {
    return Promise.resolve(this.addresses);
  }
}

describe('GitFetcher (process runner replaced)', () => {
  let cacheDir: string;
  let options: SourcesOptions;
  let runner: FakeProcessRunner;
  let resolver: FakeResolver;
  let store: ArtifactStore;
  let sut: GitFetcher;

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'fetcher-'));
    options = defaultSourcesOptions({ cacheDir });
    runner = new FakeProcessRunner();
    resolver = new FakeResolver();
    store = new ArtifactStore(options, new Clock());
    sut = new GitFetcher(options, runner, store, new Clock(), resolver);
    runner.respond = (args) =>
      args.includes('ls-remote') ? { stdout: Buffer.from(`${SHA}\trefs/heads/main\n`) } : {};
  });
  afterEach(async () => {
    await store.gc({ maxTotalBytes: 0 });
    await rm(cacheDir, { recursive: true, force: true });
  });

  const httpsRequest: GitFetchRequest = {
    url: 'https://git.example.com/org/repo.git',
    reference: { kind: 'branch', name: 'main' },
    credentials: { kind: 'basic', username: 'bot', password: SECRET },
  };

  it('refuses a bad URL before running anything', async () => {
    await expect(sut.fetch({ ...httpsRequest, url: 'ext::sh -c id' })).rejects.toMatchObject({
      code: SourceErrorCode.InvalidUrl,
    });
    expect(runner.calls).toEqual([]);
  });

  it('refuses a host name that resolves to a metadata address', async () => {
    resolver.addresses = ['169.254.169.254'];
    await expect(sut.fetch(httpsRequest)).rejects.toMatchObject({
      code: SourceErrorCode.InvalidUrl,
    });
    expect(runner.calls).toEqual([]);
  });

  it('runs git hardened, with the secret only in a 0600 file that is gone afterwards', async () => {
    await expect(sut.resolve(httpsRequest)).resolves.toEqual({
      revision: `main@sha1:${SHA}`,
      commit: SHA,
      refName: 'main',
    });
    const [call] = runner.calls;
    expect(call?.args.join(' ')).toContain(
      '-c core.hooksPath=/dev/null -c protocol.allow=never -c protocol.https.allow=always',
    );
    expect(call?.args).toContain('protocol.http.allow=never');
    expect(call?.args.slice(-3)).toEqual([
      '--',
      'https://git.example.com/org/repo.git',
      'refs/heads/main',
    ]);
    expect(call?.env).toMatchObject({
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GITFLEET_ASKPASS_USERNAME: 'bot',
    });
    expect(call?.env.HOME?.startsWith(cacheDir)).toBe(true);
    expect(Object.keys(call?.env ?? {})).not.toContain('VITEST');
    expect(JSON.stringify(call?.args)).not.toContain(SECRET);
    expect(JSON.stringify(call?.env)).not.toContain(SECRET);
    expect(call?.secretFile).toEqual({ mode: 0o600, content: SECRET });
    await expect(stat(call?.env.GITFLEET_ASKPASS_SECRET_FILE ?? '')).rejects.toThrow();
    expect(await readdir(store.scratchDir)).toEqual([]);
  });

  it('skips the fetch when the revision artifact already exists', async () => {
    const staging = await store.createScratchDir('seed');
    await writeFile(join(staging, 'a.yaml'), 'a');
    await store.commit(sut.sourceKey(httpsRequest), `main@sha1:${SHA}`, staging);

    const result = await sut.fetch(httpsRequest);

    expect(result.fetched).toBe(false);
    expect(
      runner.calls.map((c) => c.args.find((a) => ['ls-remote', 'fetch', 'init'].includes(a))),
    ).toEqual(['ls-remote']);
  });

  it('does not contact the remote at all for a cached commit pin', async () => {
    const pin: GitFetchRequest = { ...httpsRequest, reference: { kind: 'commit', sha: SHA } };
    const staging = await store.createScratchDir('seed');
    await writeFile(join(staging, 'a.yaml'), 'a');
    await store.commit(sut.sourceKey(pin), `sha1:${SHA}`, staging);
    await expect(sut.fetch(pin)).resolves.toMatchObject({
      fetched: false,
      revision: `sha1:${SHA}`,
    });
    expect(runner.calls).toEqual([]);
  });

  it('uses strict host key checking and a 0600 key file over SSH, removed even on failure', async () => {
    runner.respond = () => ({
      exitCode: 128,
      stderr: 'Host key verification failed.\nfatal: Could not read from remote repository.',
    });
    const error = sut.fetch({
      url: 'ssh://git@git.example.com/org/repo.git',
      reference: { kind: 'branch', name: 'main' },
      credentials: {
        kind: 'ssh',
        privateKey: `-----BEGIN KEY-----\n${SECRET}\n-----END KEY-----`,
        knownHosts: 'git.example.com ssh-ed25519 AAAA',
      },
    });
    await expect(error).rejects.toMatchObject({ code: SourceErrorCode.HostKeyMismatch });
    const [call] = runner.calls;
    const ssh = call?.env.GIT_SSH_COMMAND ?? '';
    for (const option of [
      'StrictHostKeyChecking=yes',
      'IdentitiesOnly=yes',
      'BatchMode=yes',
      'UserKnownHostsFile=',
    ]) {
      expect(ssh).toContain(option);
    }
    expect(ssh).not.toContain(SECRET);
    expect(call?.keyFile).toEqual({ mode: 0o600 });
    expect(await readdir(store.scratchDir)).toEqual([]);
  });

  it('requires SSH credentials with known_hosts for an SSH URL, before running anything', async () => {
    await expect(
      sut.fetch({
        url: 'git@git.example.com:org/repo.git',
        reference: { kind: 'branch', name: 'main' },
      }),
    ).rejects.toMatchObject({ code: SourceErrorCode.InvalidCredentials });
    expect(runner.calls).toEqual([]);
  });

  it('turns a killed process into Timeout', async () => {
    runner.respond = () => ({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    await expect(sut.fetch(httpsRequest)).rejects.toMatchObject({ code: SourceErrorCode.Timeout });
  });

  it('allows http only when configured', async () => {
    await expect(
      sut.fetch({ ...httpsRequest, url: 'http://git.example.com/org/repo.git' }),
    ).rejects.toMatchObject({
      code: SourceErrorCode.InvalidUrl,
    });
    const permissive = new GitFetcher(
      { ...options, allowHttp: true },
      runner,
      store,
      new Clock(),
      resolver,
    );
    await permissive.resolve({ ...httpsRequest, url: 'http://git.example.com/org/repo.git' });
    expect(runner.calls[0]?.args).toContain('protocol.http.allow=always');
  });
});
