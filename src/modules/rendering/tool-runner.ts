import { Inject, Injectable } from '@nestjs/common';
import { type ProcessResult, ProcessRunner } from 'src/common/process/process-runner';
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
 * Runs render tools through the common ProcessRunner (process group killed on
 * timeout, abort or the stdout cap) with bounded concurrency (a semaphore whose
 * slot is released on every path), and turns those outcomes into rendering
 * errors. Injectable so small tests can point it at fake tools.
 */
@Injectable()
export class ToolRunner {
  private readonly slots: Semaphore;

  constructor(
    @Inject(RENDERING_OPTIONS) private readonly options: RenderingOptions,
    private readonly processes: ProcessRunner = new ProcessRunner(),
  ) {
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
      return await this.runBounded(request);
    } finally {
      release();
    }
  }

  private async runBounded(request: RunRequest): Promise<RunResult> {
    const { maxRenderedBytes, maxStderrBytes, processTimeoutMs } = this.options;
    let result: ProcessResult;
    try {
      result = await this.processes.run(request.command, request.args, {
        cwd: request.cwd,
        env: request.env,
        timeoutMs: processTimeoutMs,
        maxStdoutBytes: maxRenderedBytes,
        stderr: { keep: 'head', maxBytes: maxStderrBytes },
        signal: request.signal,
      });
    } catch {
      throw new RenderingError(
        RenderingErrorCode.RenderFailed,
        `${request.tool} could not be started`,
      );
    }
    // At most one of these is set: the first limit hit, when the process was killed.
    if (result.aborted) {
      throw new RenderingError(RenderingErrorCode.Aborted, 'render aborted');
    }
    if (result.timedOut) {
      throw new RenderingError(
        RenderingErrorCode.Timeout,
        `${request.tool} did not finish within ${processTimeoutMs} ms and was killed`,
      );
    }
    if (result.outputLimitExceeded) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `${request.tool} output exceeds ${maxRenderedBytes} bytes`,
      );
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }
}
