import { Inject, Injectable } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import { RENDERING_OPTIONS, type RenderingOptions } from './rendering.options';
import { Semaphore } from './semaphore';

export interface RunRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The complete environment of the child; nothing is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** Name used in error messages (`kustomize`, `helm`). */
  readonly tool: string;
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly stdout: Buffer;
  /** At most `maxStderrBytes` of stderr. */
  readonly stderr: string;
}

/**
 * Runs render tools as child processes: bounded concurrency (a semaphore whose
 * slot is released on every path), wall-clock timeout, stdout cap, and on any
 * of those the whole process group is killed. Injectable so small tests can
 * point it at fake tools.
 */
@Injectable()
export class ProcessRunner {
  private readonly slots: Semaphore;

  constructor(@Inject(RENDERING_OPTIONS) private readonly options: RenderingOptions) {
    this.slots = new Semaphore(options.maxConcurrentProcesses);
  }

  /** Child processes running now. */
  get running(): number {
    return this.slots.inUse;
  }

  /** Renders waiting for a process slot. */
  get queued(): number {
    return this.slots.waiting;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const release = await this.slots.acquire(request.signal);
    try {
      return await this.spawnBounded(request);
    } finally {
      release();
    }
  }

  private spawnBounded(request: RunRequest): Promise<RunResult> {
    const { maxRenderedBytes, maxStderrBytes, processTimeoutMs } = this.options;
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(request.command, [...request.args], {
        cwd: request.cwd,
        env: { ...request.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Own process group, so a timeout kills the tool and everything it started.
        detached: true,
      });
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let failure: RenderingError | undefined;
      let settled = false;

      const killGroup = (): void => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        child.stdout.destroy();
        child.stderr.destroy();
      };
      const fail = (error: RenderingError): void => {
        if (failure === undefined) {
          failure = error;
        }
        killGroup();
      };
      const timer = setTimeout(() => {
        fail(
          new RenderingError(
            RenderingErrorCode.Timeout,
            `${request.tool} did not finish within ${processTimeoutMs} ms and was killed`,
          ),
        );
      }, processTimeoutMs);
      const onAbort = (): void => {
        fail(new RenderingError(RenderingErrorCode.Aborted, 'render aborted'));
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (data: Buffer) => {
        stdoutBytes += data.length;
        if (stdoutBytes > maxRenderedBytes) {
          // Stop buffering at the cap instead of holding an unbounded output.
          fail(
            new RenderingError(
              RenderingErrorCode.LimitExceeded,
              `${request.tool} output exceeds ${maxRenderedBytes} bytes`,
            ),
          );
          return;
        }
        stdout.push(data);
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (data: string) => {
        if (stderr.length < maxStderrBytes) {
          stderr += data.slice(0, maxStderrBytes - stderr.length);
        }
      });
      // Errors on destroyed pipes are expected after a kill.
      child.stdout.on('error', () => undefined);
      child.stderr.on('error', () => undefined);

      const finish = (exitCode: number | null, spawnError?: Error): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        if (failure !== undefined) {
          reject(failure);
        } else if (spawnError !== undefined) {
          reject(
            new RenderingError(
              RenderingErrorCode.RenderFailed,
              `${request.tool} could not be started`,
            ),
          );
        } else {
          resolve({ exitCode, stdout: Buffer.concat(stdout), stderr });
        }
      };
      child.on('error', (error) => finish(null, error));
      // 'close' waits for the pipes; after a kill they are destroyed, so it still fires.
      child.on('close', (code) => finish(code));
    });
  }
}
