import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const SSHD_PATH = '/usr/sbin/sshd';

export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/** A fresh ed25519 key pair from ssh-keygen (OpenSSH format, no passphrase). */
export async function generateSshKey(comment = 'gitfleet-test'): Promise<SshKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'gitfleet-key-'));
  try {
    const file = join(dir, 'key');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    return {
      privateKey: await readFile(file, 'utf8'),
      publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (typeof address !== 'object' || address === null) {
    throw new Error('no free port');
  }
  return address.port;
}

// Forced command for every key: only git-upload-pack of a repository below the root,
// and one line per session in the request log.
function forcedCommand(root: string, log: string): string {
  return `#!/bin/sh
printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> '${log}'
case "$SSH_ORIGINAL_COMMAND" in
  "git-upload-pack '"*"'") ;;
  *) echo "gitfleet test server: only git-upload-pack is allowed" >&2; exit 1 ;;
esac
repo=\${SSH_ORIGINAL_COMMAND#git-upload-pack \\'}
repo=\${repo%\\'}
repo=\${repo#/}
case "$repo" in
  *..*|-*|"") echo "gitfleet test server: bad repository path" >&2; exit 1 ;;
esac
if [ ! -d '${root}'/"$repo" ]; then echo "fatal: '$repo' does not appear to be a git repository" >&2; exit 128; fi
exec git-upload-pack --strict '${root}'/"$repo"
`;
}

/**
 * Debian's OpenSSH server on a loopback port, serving the bare repositories of a root
 * directory read-only through a forced command. Host and user keys are generated per
 * instance; sshd runs as a foreground child (`sshd -D -e -f <config>`).
 */
export class GitSshServer {
  private stderr = '';

  private constructor(
    private readonly dir: string,
    private readonly process: ChildProcess,
    readonly port: number,
    /** The user key authorized on this server. */
    readonly clientKey: SshKeyPair,
    /** Public host key line (`ssh-ed25519 AAAA…`). */
    readonly hostPublicKey: string,
    readonly user: string,
  ) {
    process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000);
    });
  }

  static async start(options: { root: string }): Promise<GitSshServer> {
    const dir = await mkdtemp(join(tmpdir(), 'gitfleet-sshd-'));
    await chmod(dir, 0o755);
    const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
    await execFileAsync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'gitfleet-test-host',
      '-f',
      hostKeyFile,
    ]);
    const clientKey = await generateSshKey('gitfleet-test-client');
    const log = join(dir, 'requests.log');
    await writeFile(log, '', { mode: 0o666 });
    const command = join(dir, 'git-only.sh');
    await writeFile(command, forcedCommand(options.root, log), { mode: 0o755 });
    await writeFile(
      join(dir, 'authorized_keys'),
      `restrict,command="${command}" ${clientKey.publicKey}\n`,
      { mode: 0o600 },
    );
    const user = userInfo().username;
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'AuthenticationMethods publickey',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'PrintMotd no',
      'AcceptEnv GIT_PROTOCOL',
      // Cheaper than the post-quantum default on a loaded 2-core CI machine.
      'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
      'LogLevel VERBOSE',
      '',
    ].join('\n');
    const configFile = join(dir, 'sshd_config');
    await writeFile(configFile, config, { mode: 0o600 });
    if (userInfo().uid === 0) {
      // sshd running as root insists on its privilege separation directory.
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
      await chmod('/run/sshd', 0o755);
    }
    await stat(SSHD_PATH).catch(() => {
      throw new Error(`${SSHD_PATH} is missing: apt-get install -y openssh-server`);
    });
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const hostPublicKey = (await readFile(`${hostKeyFile}.pub`, 'utf8'))
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
    const server = new GitSshServer(dir, child, port, clientKey, hostPublicKey, user);
    await server.waitUntilListening();
    return server;
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.stderr.includes('Server listening on')) {
        return;
      }
      if (this.process.exitCode !== null) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`sshd did not start: ${this.stderr}`);
  }

  /** known_hosts content that trusts this server. */
  get knownHosts(): string {
    return `[127.0.0.1]:${this.port} ${this.hostPublicKey}\n`;
  }

  /** Clone URL of a repository (`TestRepository.path`). */
  url(repoPath: string): string {
    return `ssh://${this.user}@127.0.0.1:${this.port}/${repoPath}`;
  }

  /** sshd's own log (stderr), for diagnosing a failed test. */
  get logs(): string {
    return this.stderr;
  }

  /** Number of git-upload-pack sessions started for a repository (ls-remote and fetch each start one). */
  async uploadPackSessions(repoPath: string): Promise<number> {
    const log = await readFile(join(this.dir, 'requests.log'), 'utf8');
    return log
      .split('\n')
      .filter(
        (line) =>
          line === `git-upload-pack '/${repoPath}'` || line === `git-upload-pack '${repoPath}'`,
      ).length;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
      this.process.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
