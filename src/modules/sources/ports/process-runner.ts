import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';

export interface ProcessRunOptions {
  cwd?: string;
  /** The complete environment of the child; nothing is inherited from this process. */
  env: Record<string, string>;
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Stdout beyond this many bytes kills the process (result.outputLimitExceeded). */
  maxStdoutBytes?: number;
  /** Aborting kills the whole process group, like a timeout. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The last 64 KiB of stderr, decoded as UTF-8. */
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  outputLimitExceeded: boolean;
}

const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * Port for running child processes: always an argument array, never a shell. Each
 * child leads its own process group so that a timeout kills git together with the
 * git-remote-https / ssh helpers it started.
 */
@Injectable()
export class ProcessRunner {
  run(
    command: string,
    args: readonly string[],
    options: ProcessRunOptions,
  ): Promise<ProcessResult> {
    return new Promise<ProcessResult>((resolve, reject) => {
      const child = spawn(command, [...args], {
        cwd: options.cwd,
        env: options.env,
        shell: false,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = Buffer.alloc(0);
      let timedOut = false;
      let aborted = false;
      let outputLimitExceeded = false;

      const killGroup = (): void => {
        if (child.pid === undefined) {
          return;
        }
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, options.timeoutMs);
      const onAbort = (): void => {
        aborted = true;
        killGroup();
      };
      if (options.signal?.aborted === true) {
        onAbort();
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
          outputLimitExceeded = true;
          killGroup();
          return;
        }
        stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = Buffer.concat([stderr, chunk]);
        if (stderr.length > STDERR_TAIL_BYTES) {
          stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
        }
      });
      child.stdin.on('error', () => {
        // The child may exit before reading its input; the exit status tells the rest.
      });
      child.stdin.end(options.stdin ?? '');

      child.on('error', (error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      child.on('close', (exitCode, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (timedOut || aborted || outputLimitExceeded) {
          // Helpers that outlived their parent go too.
          killGroup();
        }
        resolve({
          exitCode,
          signal,
          stdout: Buffer.concat(stdout),
          stderr: stderr.toString('utf8'),
          timedOut,
          aborted,
          outputLimitExceeded,
        });
      });
    });
  }
}
