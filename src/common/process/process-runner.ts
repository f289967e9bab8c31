import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';

export interface ProcessRunOptions {
  cwd?: string;
  /** The complete environment of the child; nothing is inherited from this process. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Stdout beyond this many bytes kills the process (result.outputLimitExceeded). */
  maxStdoutBytes?: number;
  /**
   * How much stderr is kept: the last `maxBytes` bytes (`tail`, the default,
   * 64 KiB) or the first `maxBytes` characters (`head`).
   */
  stderr?: { readonly keep: 'head' | 'tail'; readonly maxBytes: number };
  /** Aborting kills the whole process group, like a timeout. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The kept part of stderr (see ProcessRunOptions.stderr), decoded as UTF-8. */
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  outputLimitExceeded: boolean;
}

const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * The one child-process runner: always an argument array, never a shell, and a
 * complete environment. Each child leads its own process group so that a
 * timeout, an abort or the stdout cap kills the tool together with the helpers
 * it started (git-remote-https, ssh, helm plugins); its pipes are then
 * destroyed so that 'close' fires even if a helper escaped the group. A child
 * that could not be started rejects with the spawn error; everything else
 * resolves with the flags set, and the caller maps them to its own errors.
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
        env: { ...options.env },
        shell: false,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      const stderrLimit = options.stderr ?? { keep: 'tail', maxBytes: STDERR_TAIL_BYTES };
      let stderrTail = Buffer.alloc(0);
      let stderrHead = '';
      let timedOut = false;
      let aborted = false;
      let outputLimitExceeded = false;

      const killGroup = (): void => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // The group is already gone.
          }
        }
        child.stdout.destroy();
        child.stderr.destroy();
      };
      // Only the first reason to stop is recorded: the process dies at that moment.
      const stopped = (): boolean => timedOut || aborted || outputLimitExceeded;
      const timer = setTimeout(() => {
        if (!stopped()) {
          timedOut = true;
        }
        killGroup();
      }, options.timeoutMs);
      const onAbort = (): void => {
        if (!stopped()) {
          aborted = true;
        }
        killGroup();
      };
      if (options.signal?.aborted === true) {
        onAbort();
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
          // Stop buffering at the cap instead of holding an unbounded output.
          if (!stopped()) {
            outputLimitExceeded = true;
          }
          killGroup();
          return;
        }
        stdout.push(chunk);
      });
      if (stderrLimit.keep === 'head') {
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
          if (stderrHead.length < stderrLimit.maxBytes) {
            stderrHead += chunk.slice(0, stderrLimit.maxBytes - stderrHead.length);
          }
        });
      } else {
        child.stderr.on('data', (chunk: Buffer) => {
          stderrTail = Buffer.concat([stderrTail, chunk]);
          if (stderrTail.length > stderrLimit.maxBytes) {
            stderrTail = stderrTail.subarray(stderrTail.length - stderrLimit.maxBytes);
          }
        });
      }
      // Errors on destroyed pipes are expected after a kill.
      child.stdout.on('error', () => undefined);
      child.stderr.on('error', () => undefined);
      child.stdin.on('error', () => {
        // The child may exit before reading its input; the exit status tells the rest.
      });
      child.stdin.end(options.stdin ?? '');

      let settled = false;
      const settle = (): boolean => {
        if (settled) {
          return false;
        }
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        return true;
      };
      child.on('error', (error) => {
        if (settle()) {
          reject(error);
        }
      });
      // 'close' waits for the pipes; after a kill they are destroyed, so it still fires.
      child.on('close', (exitCode, signal) => {
        if (!settle()) {
          return;
        }
        if (stopped()) {
          // Helpers that outlived their parent go too.
          killGroup();
        }
        resolve({
          exitCode,
          signal,
          stdout: Buffer.concat(stdout),
          stderr: stderrLimit.keep === 'head' ? stderrHead : stderrTail.toString('utf8'),
          timedOut,
          aborted,
          outputLimitExceeded,
        });
      });
    });
  }
}
