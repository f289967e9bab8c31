import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import { HttpClient } from 'src/modules/sources/ports/http-client';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import {
  ProcessRunner,
  type ProcessResult,
  type ProcessRunOptions,
} from 'src/common/process/process-runner';
import { defaultSourcesOptions, type SourcesOptions } from 'src/modules/sources/sources.options';

export interface RecordedProcess {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  stdin: string;
}

/** The real runner, recording every argv and environment it is given. */
export class RecordingProcessRunner extends ProcessRunner {
  readonly calls: RecordedProcess[] = [];

  override run(
    command: string,
    args: readonly string[],
    options: ProcessRunOptions,
  ): Promise<ProcessResult> {
    this.calls.push({
      command,
      args: [...args],
      env: { ...options.env },
      stdin: String(options.stdin ?? ''),
    });
    return super.run(command, args, options);
  }
}

export interface FetchEngine {
  options: SourcesOptions;
  runner: RecordingProcessRunner;
  store: ArtifactStore;
  fetcher: GitFetcher;
  dispose(): Promise<void>;
}

export async function createFetchEngine(
  overrides: Partial<Parameters<typeof defaultSourcesOptions>[0]> = {},
): Promise<FetchEngine> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'gitfleet-cache-'));
  const options = defaultSourcesOptions({ fetchTimeoutSeconds: 60, ...overrides, cacheDir });
  const clock = new Clock();
  const runner = new RecordingProcessRunner();
  const store = new ArtifactStore(options, clock);
  const fetcher = new GitFetcher(options, runner, store, clock, new HostResolver());
  return {
    options,
    runner,
    store,
    fetcher,
    dispose: async () => {
      await store.gc({ maxTotalBytes: 0 });
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/** A Helm repository client over the engine's options and cache, as the sources module wires it. */
export function createHelmRepositoryClient(engine: FetchEngine): HelmRepositoryClient {
  const clock = new Clock();
  return new HelmRepositoryClient(
    engine.options,
    new HttpClient(),
    new ArtifactStore(engine.options, clock),
    clock,
    new HostResolver(),
  );
}
