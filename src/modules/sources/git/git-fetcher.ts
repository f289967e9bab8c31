import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, sep } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  type Artifact,
  ArtifactStore,
  removeTree,
} from 'src/modules/sources/artifacts/artifact-store';
import {
  buildIgnore,
  type GitTreeEntry,
  parseLsTree,
  selectTreeEntries,
  symlinkEscapesLexically,
  unsafeSymlink,
} from 'src/modules/sources/git/checkout-policy';
import { classifyGitFailure, parseCurlTrace } from 'src/modules/sources/git/git-error-classifier';
import {
  describeReference,
  type GitReference,
  parseLsRemote,
  type ResolvedReference,
  selectReference,
  validateReference,
} from 'src/modules/sources/git/git-reference';
import { type GitCredentials, GitSession } from 'src/modules/sources/git/git-session';
import { type GitUrl, parseGitUrl } from 'src/modules/sources/git/git-url';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import { type ProcessResult, ProcessRunner } from 'src/common/process/process-runner';
import { formatRevision } from 'src/modules/sources/revision';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { SOURCES_OPTIONS, type SourcesOptions } from 'src/modules/sources/sources.options';
import { isForbiddenAddress } from 'src/common/net/address-policy';

export interface GitFetchRequest {
  url: string;
  reference: GitReference;
  credentials?: GitCredentials;
  /** PEM CA bundle trusted for an https:// repository instead of the system's. */
  caCertificate?: string;
  /** gitignore-syntax patterns of files kept out of the artifact. */
  ignore?: readonly string[];
  /** Whole fetch (ls-remote + fetch + checkout); defaults to options.fetchTimeoutSeconds. */
  timeoutSeconds?: number;
}

export interface ResolvedRevision {
  /** `main@sha1:<commit>`, `v1.2.0@sha1:<commit>` or `sha1:<commit>`. */
  revision: string;
  commit: string;
  refName?: string;
}

export interface GitFetchResult extends ResolvedRevision {
  artifact: Artifact;
  /** False when the revision's artifact already existed and nothing was downloaded. */
  fetched: boolean;
}

const MAX_LS_REMOTE_BYTES = 32 * 1024 ** 2;
const TRANSFER_WATCH_INTERVAL_MS = 250;

interface GitCall {
  session: GitSession;
  url: GitUrl;
  deadline: number;
  timeoutSeconds: number;
  operation: string;
  cwd?: string;
  stdin?: string | Buffer;
  extraEnv?: Record<string, string>;
  signal?: AbortSignal;
  maxStdoutBytes?: number;
}

/**
 * Fetches git Sources into artifacts with the real git binary: no shell, no prompts,
 * no hooks, https/ssh (and optionally http) transports only, credentials through an
 * askpass helper or a temporary key file. A revision whose artifact exists is not
 * fetched again; concurrent requests for one Source and reference share one fetch.
 */
@Injectable()
export class GitFetcher {
  private readonly inflight = new Map<string, Promise<GitFetchResult>>();

  constructor(
    @Inject(SOURCES_OPTIONS) private readonly options: SourcesOptions,
    private readonly runner: ProcessRunner,
    private readonly store: ArtifactStore,
    private readonly clock: Clock,
    private readonly resolver: HostResolver,
  ) {}

  /**
   * Identifies the artifacts of a Source configuration: same URL and same ignore rules
   * give the same key, so a revision is reused across Sources that agree on both.
   */
  sourceKey(request: Pick<GitFetchRequest, 'url' | 'ignore'>): string {
    const material = JSON.stringify({
      kind: 'git',
      url: request.url,
      ignore: request.ignore ?? [],
      symlinks: this.options.symlinkPolicy,
    });
    return `git:${createHash('sha256').update(material).digest('hex')}`;
  }

  /** Fetches the reference (unless its revision is cached) and returns its artifact. */
  fetch(request: GitFetchRequest): Promise<GitFetchResult> {
    const key = `${this.sourceKey(request)}\n${JSON.stringify(request.reference)}`;
    const running = this.inflight.get(key);
    if (running !== undefined) {
      return running;
    }
    const promise = this.fetchOnce(request).finally(() => {
      this.inflight.delete(key);
    });
    this.inflight.set(key, promise);
    return promise;
  }

  /** Resolves the reference against the remote (ls-remote) without fetching. */
  async resolve(request: GitFetchRequest): Promise<ResolvedRevision> {
    const url = await this.validate(request);
    if (request.reference.kind === 'commit') {
      return {
        revision: formatRevision(undefined, request.reference.sha),
        commit: request.reference.sha,
      };
    }
    const timeoutSeconds = request.timeoutSeconds ?? this.options.fetchTimeoutSeconds;
    const deadline = this.clock.now().getTime() + timeoutSeconds * 1000;
    const scratch = await this.store.createScratchDir('resolve');
    try {
      const session = await GitSession.create(
        join(scratch, 'session'),
        url,
        request.credentials,
        this.options,
        request.caCertificate,
      );
      try {
        const resolved = await this.lsRemote(
          { session, url, deadline, timeoutSeconds, operation: 'ls-remote' },
          request.reference,
        );
        return toResolvedRevision(resolved);
      } finally {
        await session.dispose();
      }
    } finally {
      await removeTree(scratch);
    }
  }

  private async validate(request: GitFetchRequest): Promise<GitUrl> {
    const url = parseGitUrl(request.url, { allowHttp: this.options.allowHttp });
    validateReference(request.reference);
    await this.checkResolvedAddresses(url);
    return url;
  }

  // A name may resolve to a metadata address; git would resolve it again (a rebinding
  // window remains), but the common case of a hostile name is refused here.
  private async checkResolvedAddresses(url: GitUrl): Promise<void> {
    if (isIP(url.host) !== 0) {
      return;
    }
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(url.host);
    } catch {
      return; // git reports the unresolvable host as Unreachable.
    }
    if (addresses.some((address) => isForbiddenAddress(address))) {
      throw new SourceFetchError(
        SourceErrorCode.InvalidUrl,
        `invalid repository URL "${url.display}": the host resolves to a link-local or metadata address`,
      );
    }
  }

  private async fetchOnce(request: GitFetchRequest): Promise<GitFetchResult> {
    const url = await this.validate(request);
    const sourceKey = this.sourceKey(request);
    const reference = request.reference;
    const timeoutSeconds = request.timeoutSeconds ?? this.options.fetchTimeoutSeconds;
    const deadline = this.clock.now().getTime() + timeoutSeconds * 1000;

    // A commit pin is immutable: a cached artifact needs no network at all.
    if (reference.kind === 'commit') {
      const revision = formatRevision(undefined, reference.sha);
      const cached = await this.store.lookup(sourceKey, revision);
      if (cached !== undefined) {
        return { revision, commit: reference.sha, artifact: cached, fetched: false };
      }
    }

    const scratch = await this.store.createScratchDir('fetch');
    try {
      const session = await GitSession.create(
        join(scratch, 'session'),
        url,
        request.credentials,
        this.options,
        request.caCertificate,
      );
      try {
        const call = { session, url, deadline, timeoutSeconds };
        let resolved: ResolvedReference = {
          commit: reference.kind === 'commit' ? reference.sha : '',
        };
        if (reference.kind !== 'commit') {
          resolved = await this.lsRemote({ ...call, operation: 'ls-remote' }, reference);
          const revision = formatRevision(resolved.refName, resolved.commit);
          const cached = await this.store.lookup(sourceKey, revision);
          if (cached !== undefined) {
            return { ...toResolvedRevision(resolved), artifact: cached, fetched: false };
          }
        }
        const gitDir = join(scratch, 'repo', '.git');
        await this.git({ ...call, operation: 'init' }, [
          'init',
          '--quiet',
          '--template=',
          join(scratch, 'repo'),
        ]);
        const commit = await this.fetchCommit(
          { ...call, operation: 'fetch' },
          gitDir,
          reference,
          resolved,
        );
        const current: ResolvedReference = { ...resolved, commit };
        const revision = formatRevision(current.refName, commit);
        if (commit !== resolved.commit) {
          // The branch moved between ls-remote and fetch: what we fetched is the truth.
          const cached = await this.store.lookup(sourceKey, revision);
          if (cached !== undefined) {
            return { ...toResolvedRevision(current), artifact: cached, fetched: false };
          }
        }
        const tree = join(scratch, 'tree');
        await mkdir(tree, { mode: 0o700 });
        await this.checkout(
          { ...call, operation: 'checkout' },
          gitDir,
          tree,
          commit,
          request.ignore,
        );
        const artifact = await this.store.commit(sourceKey, revision, tree);
        return { ...toResolvedRevision(current), artifact, fetched: true };
      } finally {
        await session.dispose();
      }
    } finally {
      await removeTree(scratch);
    }
  }

  private async lsRemote(call: GitCall, reference: GitReference): Promise<ResolvedReference> {
    const args = ['ls-remote'];
    switch (reference.kind) {
      case 'branch':
        args.push('--heads', '--', call.url.url, `refs/heads/${reference.name}`);
        break;
      case 'tag':
      case 'semver':
        args.push('--tags', '--', call.url.url);
        break;
      case 'commit':
        return { commit: reference.sha };
    }
    const result = await this.git({ ...call, maxStdoutBytes: MAX_LS_REMOTE_BYTES }, args);
    return selectReference(reference, parseLsRemote(result.stdout.toString('utf8')));
  }

  /** Fetches exactly what the reference needs and returns the fetched commit. */
  private async fetchCommit(
    call: GitCall,
    gitDir: string,
    reference: GitReference,
    resolved: ResolvedReference,
  ): Promise<string> {
    const base = [
      '--git-dir',
      gitDir,
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-recurse-submodules',
      '--no-auto-gc',
    ];
    if (resolved.fullRef !== undefined) {
      await this.watchedFetch(call, gitDir, [
        ...base,
        '--depth',
        '1',
        '--',
        call.url.url,
        `+${resolved.fullRef}:refs/gitfleet/fetched`,
      ]);
      return this.revParse(call, gitDir, 'refs/gitfleet/fetched^{commit}');
    }
    // Commit pin: servers allowing reachable SHAs (protocol v2, GitHub, GitLab) give one
    // commit; others need the history of their branches and tags to find it.
    const sha = resolved.commit;
    try {
      await this.watchedFetch(call, gitDir, [
        ...base,
        '--depth',
        '1',
        '--',
        call.url.url,
        `+${sha}:refs/gitfleet/fetched`,
      ]);
    } catch (error) {
      if (!(error instanceof SourceFetchError) || error.code !== SourceErrorCode.RefNotFound) {
        throw error;
      }
      await this.watchedFetch(call, gitDir, [
        ...base, '--', call.url.url, '+refs/heads/*:refs/gitfleet/heads/*', '+refs/tags/*:refs/gitfleet/tags/*',
      ]); // prettier-ignore
      const exists = await this.runGit(call, [
        '--git-dir',
        gitDir,
        'cat-file',
        '-e',
        `${sha}^{commit}`,
      ]);
      if (exists.exitCode !== 0) {
        throw new SourceFetchError(
          SourceErrorCode.RefNotFound,
          `${describeReference(reference)} not found in the repository`,
        );
      }
    }
    return this.revParse(call, gitDir, `${sha}^{commit}`);
  }

  private async revParse(call: GitCall, gitDir: string, expression: string): Promise<string> {
    const result = await this.git({ ...call, operation: 'rev-parse' }, [
      '--git-dir',
      gitDir,
      'rev-parse',
      '--verify',
      '--end-of-options',
      expression,
    ]);
    return result.stdout.toString('utf8').trim();
  }

  /** A fetch whose on-disk growth is bounded: past maxTransferBytes it is killed. */
  private async watchedFetch(call: GitCall, gitDir: string, args: string[]): Promise<void> {
    const controller = new AbortController();
    let exceeded = false;
    let measuring = false;
    const timer = setInterval(() => {
      if (measuring) {
        return;
      }
      measuring = true;
      directorySize(gitDir)
        .then((size) => {
          if (size > this.options.limits.maxTransferBytes) {
            exceeded = true;
            controller.abort();
          }
        })
        .catch(() => undefined)
        .finally(() => {
          measuring = false;
        });
    }, TRANSFER_WATCH_INTERVAL_MS);
    try {
      await this.git({ ...call, signal: controller.signal }, args);
      // A transfer faster than the watch interval is still measured once.
      if ((await directorySize(gitDir)) > this.options.limits.maxTransferBytes) {
        exceeded = true;
        throw new Error('transfer limit exceeded');
      }
    } catch (error) {
      if (exceeded) {
        throw new SourceFetchError(
          SourceErrorCode.LimitExceeded,
          `fetching ${call.url.display} transferred more than ${this.options.limits.maxTransferBytes} bytes`,
          { limit: 'repositorySize' },
        );
      }
      throw error;
    } finally {
      clearInterval(timer);
    }
  }

  /** Writes the selected files of the commit into tree, then re-checks the symlinks on disk. */
  private async checkout(
    call: GitCall,
    gitDir: string,
    tree: string,
    commit: string,
    ignorePatterns: readonly string[] | undefined,
  ): Promise<void> {
    const listing = await this.git({ ...call, maxStdoutBytes: 256 * 1024 ** 2 }, [
      '--git-dir', gitDir, 'ls-tree', '-r', '-l', '-z', '--full-tree', commit,
    ]); // prettier-ignore
    const selection = selectTreeEntries(
      parseLsTree(listing.stdout),
      buildIgnore(ignorePatterns),
      this.options.limits,
    );
    const targets = await this.symlinkTargets(call, gitDir, selection.symlinks);
    const keep: GitTreeEntry[] = [...selection.files];
    for (const link of selection.symlinks) {
      if (symlinkEscapesLexically(link.path, targets.get(link.oid) ?? '')) {
        const failure = unsafeSymlink(link.path, this.options.symlinkPolicy);
        if (failure !== undefined) {
          throw failure;
        }
        continue;
      }
      keep.push(link);
    }
    if (keep.length === 0) {
      return;
    }
    await this.git({ ...call, stdin: keep.map((entry) => entry.path).join('\0'), extraEnv: { GIT_LITERAL_PATHSPECS: '1' } }, [
      '--git-dir', gitDir, '--work-tree', tree, 'checkout', '--quiet', '--force', commit,
      '--pathspec-from-file=-', '--pathspec-file-nul',
    ]); // prettier-ignore
    await this.checkSymlinksOnDisk(tree);
  }

  private async symlinkTargets(
    call: GitCall,
    gitDir: string,
    links: readonly GitTreeEntry[],
  ): Promise<Map<string, string>> {
    const targets = new Map<string, string>();
    if (links.length === 0) {
      return targets;
    }
    const oids = [...new Set(links.map((link) => link.oid))];
    const result = await this.git({ ...call, stdin: `${oids.join('\n')}\n`, maxStdoutBytes: 64 * 1024 ** 2 }, [
      '--git-dir', gitDir, 'cat-file', '--batch',
    ]); // prettier-ignore
    let offset = 0;
    const out = result.stdout;
    while (offset < out.length) {
      const newline = out.indexOf(10, offset);
      if (newline < 0) {
        break;
      }
      const [oid = '', , size = '0'] = out.subarray(offset, newline).toString('utf8').split(' ');
      const length = Number(size);
      targets.set(oid, out.subarray(newline + 1, newline + 1 + length).toString('utf8'));
      offset = newline + 1 + length + 1;
    }
    return targets;
  }

  // Lexical checks cannot see combinations such as `r -> .` plus `x -> r/..`; the
  // resolved location on disk can. Dangling links are treated as unsafe too.
  private async checkSymlinksOnDisk(tree: string): Promise<void> {
    const root = await realpath(tree);
    const visit = async (dir: string, relative: string): Promise<void> => {
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        const rel = relative === '' ? name : `${relative}/${name}`;
        const stats = await lstat(path);
        if (stats.isDirectory()) {
          await visit(path, rel);
          continue;
        }
        if (!stats.isSymbolicLink()) {
          continue;
        }
        let inside = false;
        try {
          const resolved = await realpath(path);
          inside = resolved === root || resolved.startsWith(`${root}${sep}`);
        } catch {
          inside = false;
        }
        if (!inside) {
          const failure = unsafeSymlink(rel, this.options.symlinkPolicy);
          if (failure !== undefined) {
            throw failure;
          }
          await unlink(path);
        }
      }
    };
    await visit(tree, '');
  }

  private async runGit(call: GitCall, args: string[]): Promise<ProcessResult> {
    const remainingMs = call.deadline - this.clock.now().getTime();
    if (remainingMs <= 0) {
      throw this.timeout(call);
    }
    return this.runner.run(this.options.git.binary, [...call.session.configArgs, ...args], {
      env: { ...call.session.env, ...call.extraEnv },
      timeoutMs: remainingMs,
      ...(call.cwd === undefined ? {} : { cwd: call.cwd }),
      ...(call.stdin === undefined ? {} : { stdin: call.stdin }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
      ...(call.maxStdoutBytes === undefined ? {} : { maxStdoutBytes: call.maxStdoutBytes }),
    });
  }

  private timeout(call: GitCall): SourceFetchError {
    return new SourceFetchError(
      SourceErrorCode.Timeout,
      `${call.operation} ${call.url.display}: timed out after ${call.timeoutSeconds}s`,
    );
  }

  private async git(call: GitCall, args: string[]): Promise<ProcessResult> {
    const result = await this.runGit(call, args);
    const trace = await call.session.takeTrace();
    if (result.timedOut) {
      throw this.timeout(call);
    }
    if (result.outputLimitExceeded) {
      throw new SourceFetchError(
        SourceErrorCode.LimitExceeded,
        `${call.operation} ${call.url.display}: output too large`,
        {
          limit: 'repositorySize',
        },
      );
    }
    if (result.exitCode !== 0) {
      throw classifyGitFailure({
        operation: call.operation,
        displayUrl: call.url.display,
        stderr: result.stderr,
        trace: parseCurlTrace(trace),
        scrubber: call.session.scrubber,
        now: this.clock.now(),
        withCa: call.session.env.GIT_SSL_CAINFO !== undefined,
      });
    }
    return result;
  }
}

function toResolvedRevision(resolved: ResolvedReference): ResolvedRevision {
  return {
    revision: formatRevision(resolved.refName, resolved.commit),
    commit: resolved.commit,
    ...(resolved.refName === undefined ? {} : { refName: resolved.refName }),
  };
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      const stats = await lstat(path);
      total += stats.isDirectory() ? await directorySize(path) : stats.size;
    } catch {
      // Files come and go while git works.
    }
  }
  return total;
}
