import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Content of a file in a test commit. */
export type TestFile =
  | string
  | Buffer
  | { symlink: string }
  /** A file of zeros written sparsely (fast even for hundreds of MB). */
  | { zeros: number }
  | { content: string; executable: true };

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'gitfleet test',
  GIT_AUTHOR_EMAIL: 'test@gitfleet.invalid',
  GIT_COMMITTER_NAME: 'gitfleet test',
  GIT_COMMITTER_EMAIL: 'test@gitfleet.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    'git',
    ['-c', 'protocol.file.allow=always', '-c', 'core.compression=1', ...args],
    {
      cwd,
      env: { ...process.env, ...GIT_ENV, HOME: cwd },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout.trim();
}

/** A bare repository served by the test git servers, plus a scratch work tree to commit from. */
export class TestRepository {
  constructor(
    readonly name: string,
    readonly bareDir: string,
    private readonly workDir: string,
  ) {}

  /** Path of the repository below the server root (`<name>.git`). */
  get path(): string {
    return `${this.name}.git`;
  }

  /**
   * Commits files on a branch (created if missing) and pushes it. With replace, the
   * commit's tree is exactly `files`; otherwise files are added to the branch's tree
   * (a null value deletes the file). Returns the commit SHA.
   */
  async commit(
    files: Record<string, TestFile | null>,
    options: { branch?: string; message?: string; replace?: boolean; parentless?: boolean } = {},
  ): Promise<string> {
    const branch = options.branch ?? 'main';
    const exists = (await git(this.bareDir, ['branch', '--list', branch])) !== '';
    if (exists && options.parentless !== true) {
      await git(this.workDir, [
        'fetch',
        '--quiet',
        this.bareDir,
        `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
      ]);
      await git(this.workDir, [
        'checkout',
        '--quiet',
        '-f',
        '-B',
        branch,
        `refs/remotes/origin/${branch}`,
      ]);
    } else {
      await git(this.workDir, [
        'checkout',
        '--quiet',
        '-f',
        '--orphan',
        `tmp-${Date.now()}-${Math.random().toString(16).slice(2)}`,
      ]);
      await git(this.workDir, ['rm', '-rf', '--quiet', '--ignore-unmatch', '.']);
    }
    if (options.replace === true) {
      await git(this.workDir, ['rm', '-rf', '--quiet', '--ignore-unmatch', '.']);
    }
    for (const [path, file] of Object.entries(files)) {
      const target = join(this.workDir, path);
      await rm(target, { force: true, recursive: true });
      if (file === null) {
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      if (typeof file === 'string' || Buffer.isBuffer(file)) {
        await writeFile(target, file);
      } else if ('symlink' in file) {
        await symlink(file.symlink, target);
      } else if ('zeros' in file) {
        await writeFile(target, '');
        await truncate(target, file.zeros);
      } else {
        await writeFile(target, file.content, { mode: 0o755 });
      }
    }
    await git(this.workDir, ['add', '-A', '.']);
    await git(this.workDir, [
      'commit',
      '--quiet',
      '--allow-empty',
      '--no-verify',
      '-m',
      options.message ?? 'test commit',
    ]);
    const sha = await git(this.workDir, ['rev-parse', 'HEAD']);
    await git(this.workDir, [
      'push',
      '--quiet',
      '--force',
      this.bareDir,
      `HEAD:refs/heads/${branch}`,
    ]);
    return sha;
  }

  /** Rewrites the branch with an unrelated commit, like `git push --force` after a rebase. */
  forcePush(branch: string, files: Record<string, TestFile>): Promise<string> {
    return this.commit(files, {
      branch,
      parentless: true,
      replace: true,
      message: 'rewritten history',
    });
  }

  async tag(name: string, ref: string, options: { annotated?: boolean } = {}): Promise<void> {
    const args =
      options.annotated === true
        ? ['tag', '-a', '-m', `release ${name}`, name, ref]
        : ['tag', name, ref];
    await git(this.bareDir, [
      '-c',
      'user.name=gitfleet test',
      '-c',
      'user.email=test@gitfleet.invalid',
      ...args,
    ]);
  }

  async setBranch(branch: string, sha: string): Promise<void> {
    await git(this.bareDir, ['update-ref', `refs/heads/${branch}`, sha]);
  }

  async deleteBranch(branch: string): Promise<void> {
    await git(this.bareDir, ['update-ref', '-d', `refs/heads/${branch}`]);
  }

  async deleteTag(name: string): Promise<void> {
    await git(this.bareDir, ['update-ref', '-d', `refs/tags/${name}`]);
  }

  async head(branch = 'main'): Promise<string> {
    return git(this.bareDir, ['rev-parse', `refs/heads/${branch}`]);
  }

  async config(key: string, value: string): Promise<void> {
    await git(this.bareDir, ['config', key, value]);
  }
}

/** A directory of bare repositories that GitHttpServer and GitSshServer serve. */
export class GitRepositories {
  private constructor(
    readonly root: string,
    private readonly scratch: string,
  ) {}

  static async create(): Promise<GitRepositories> {
    const base = await mkdtemp(join(tmpdir(), 'gitfleet-git-'));
    const root = join(base, 'repos');
    const scratch = join(base, 'work');
    await mkdir(root);
    await mkdir(scratch);
    return new GitRepositories(root, scratch);
  }

  async createRepository(name: string): Promise<TestRepository> {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
      throw new Error(`bad test repository name ${name}`);
    }
    const bareDir = join(this.root, `${name}.git`);
    const workDir = join(this.scratch, name);
    await git(this.root, ['init', '--quiet', '--bare', '-b', 'main', bareDir]);
    await git(this.scratch, ['init', '--quiet', '-b', 'main', workDir]);
    return new TestRepository(name, bareDir, workDir);
  }

  async dispose(): Promise<void> {
    await rm(dirname(this.root), { recursive: true, force: true });
  }
}
