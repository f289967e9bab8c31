import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** The built service; GITFLEET_MAIN_JS points at another build (e.g. a private outDir). */
export const MAIN_JS = process.env.GITFLEET_MAIN_JS ?? join(REPO_ROOT, 'dist', 'src', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export interface AppProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** Runs the built service (`dist/src/main.js`) as a separate process and waits for /readyz. */
export async function startAppProcess(
  env: Record<string, string> = {},
  readyTimeoutMs = 60_000,
  mainJs = MAIN_JS,
): Promise<AppProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-e2e-'));
  const child = spawn(process.execPath, [mainJs], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      GITFLEET_DATA_DIR: dataDir,
      EMBEDDED_DATABASE_PORT: String(await freePort()),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const baseUrl = `http://127.0.0.1:${port}`;

  const app: AppProcess = {
    baseUrl,
    port,
    child,
    dataDir,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return { code, ms: Date.now() - started };
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`service exited with ${child.exitCode} before becoming ready:\n${output}`);
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.status === 200) {
        return app;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await app.stop('SIGKILL');
  throw new Error(`service not ready after ${readyTimeoutMs} ms:\n${output}`);
}

/** Runs the built service expecting it to exit by itself (e.g. bad configuration). */
export async function runAppToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gitfleet-e2e-'));
  try {
    const child = spawn(process.execPath, [MAIN_JS], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', GITFLEET_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
    clearTimeout(timer);
    return { code, output };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
