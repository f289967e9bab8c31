import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The real kubectl extracted by scripts/install-tools.mjs (override with KUBECTL_PATH). */
export const KUBECTL =
  process.env.KUBECTL_PATH ?? resolve(__dirname, '../../..', '.tools/bin/kubectl');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl hermetically: own KUBECONFIG, cache dir and HOME, KUBERC=off. */
export class Kubectl {
  private readonly dir = mkdtempSync(join(tmpdir(), 'kube-sim-kubectl-'));
  private readonly kubeconfig = join(this.dir, 'kubeconfig');

  constructor(kubeconfig: string) {
    writeFileSync(this.kubeconfig, kubeconfig, { mode: 0o600 });
  }

  file(name: string, content: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, content);
    return p;
  }

  run(...args: string[]): Promise<KubectlResult> {
    return new Promise((done) => {
      execFile(
        KUBECTL,
        [...args, '--cache-dir', join(this.dir, 'cache')],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: this.dir,
            KUBECONFIG: this.kubeconfig,
            KUBERC: 'off',
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          done({ code, stdout, stderr });
        },
      );
    });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
