import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from 'test/e2e/kube-sim/kubectl';
import { apiRequest } from 'test/support/app/api-request';
import {
  type AppProcess,
  freePort,
  REPO_ROOT,
  startAppProcess,
} from 'test/support/app/app-process';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const TOKEN = 'local-admin-token-0123456789abcdef';
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

/** The ```sh block that follows `<!-- walkthrough:<name> -->` in the README. */
function block(name: string): string {
  const m = new RegExp(`<!-- walkthrough:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(
    README,
  );
  if (!m) {
    throw new Error(`README has no walkthrough:${name} block`);
  }
  return m[1];
}

function bash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      'bash',
      ['-euo', 'pipefail', '-c', script],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs one of the README's `npm run <script> -- …` servers (tsx, as npm does) until it says it serves. */
async function serve(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(TSX, [script, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not start: ${out}`)), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/serving/.test(out)) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${script} exited ${code}: ${out}`)));
  });
  return child;
}

describe('the README walk-through, run as written', () => {
  const work = mkdtempSync(join(tmpdir(), 'gitfleet-readme-'));
  const local = join(work, '.local');
  const children: ChildProcess[] = [];
  const databaseName = uniqueDatabaseName('gitfleet_e2e_readme');
  let app: AppProcess;
  let gitPort: number;

  beforeAll(async () => {
    // The README's server commands, with this run's directory and a free port.
    expect(README).toContain('npm run kube-sim -- --names prod-eu --out .local\n');
    expect(README).toContain('npm run git-server -- --root .local/git --port 8081\n');
    expect(README).toContain(`GITFLEET_ADMIN_TOKEN=${TOKEN} SOURCE_ALLOW_HTTP=true npm start\n`);
    children.push(
      await serve('test/support/kube-sim/cli.ts', ['--names', 'prod-eu', '--out', local]),
    );
    const repository = await bash(block('repository'), work, {});
    expect(repository, repository.stderr).toMatchObject({ code: 0 });
    gitPort = await freePort();
    children.push(
      await serve('test/support/git-server/cli.ts', [
        '--root',
        join(local, 'git'),
        '--port',
        String(gitPort),
      ]),
    );
    // `npm start` on a fresh clone, on a test database instead of the embedded one.
    app = await startAppProcess({
      DATABASE_URL: await createEmptyDatabase(databaseName),
      GITFLEET_ENCRYPTION_KEYS: `readme:${randomBytes(32).toString('base64')}`,
      GITFLEET_ADMIN_TOKEN: TOKEN,
      SOURCE_ALLOW_HTTP: 'true',
    });
  });

  afterAll(async () => {
    await app?.stop();
    for (const c of children) {
      c.kill('SIGTERM');
    }
    await dropDatabase(databaseName).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('makes the release Ready on the simulated cluster, applied as the tenant bound to admin', async () => {
    const calls = await bash(block('calls'), work, {
      GITFLEET_ADMIN_TOKEN: TOKEN,
      GITFLEET_URL: app.baseUrl,
      CONFIG_REPO: `http://127.0.0.1:${gitPort}/team-a/config.git`,
    });
    expect(calls, calls.stderr).toMatchObject({ code: 0 });
    const deadline = Date.now() + 90_000;
    let targets: { cluster: string; ready: string; lastError?: string }[] = [];
    while (Date.now() < deadline) {
      const res = await apiRequest(
        app.baseUrl,
        TOKEN,
        'GET',
        '/tenants/team-a/releases/web/targets',
      );
      targets = res.body.items as typeof targets;
      if (targets.length === 1 && targets[0].ready === 'True') {
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(targets).toEqual([expect.objectContaining({ cluster: 'prod-eu', ready: 'True' })]);

    const kubectl = new Kubectl(readFileSync(join(local, 'prod-eu.kubeconfig'), 'utf8'));
    try {
      const dep = await kubectl.run('-n', 'team-a', 'get', 'deployment', 'web', '-o', 'json');
      expect(dep.code, dep.stderr).toBe(0);
      const obj = JSON.parse(dep.stdout) as {
        status: { availableReplicas: number };
        metadata: { managedFields: { manager: string }[] };
      };
      expect(obj.status.availableReplicas).toBe(2);
      const rb = await kubectl.run(
        '-n',
        'team-a',
        'get',
        'rolebinding',
        'gitfleet-team-a',
        '-o',
        'jsonpath={.roleRef.kind}/{.roleRef.name}',
      );
      expect(rb.stdout).toBe('ClusterRole/admin');
      const canI = await kubectl.run(
        'auth',
        'can-i',
        '--as=system:serviceaccount:team-a:gitfleet-team-a',
        'create',
        'deployments',
        '-n',
        'team-a',
      );
      expect(canI.stdout).toBe('yes\n');
    } finally {
      kubectl.dispose();
    }
  });
});
