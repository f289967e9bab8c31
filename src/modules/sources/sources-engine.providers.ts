import type { Provider } from '@nestjs/common';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import { HttpClient } from 'src/modules/sources/ports/http-client';
import { ProcessRunner } from 'src/common/process/process-runner';

/**
 * The fetch engine's providers. The module that uses them also provides
 * SOURCES_OPTIONS (from the config layer), e.g. `{ provide: SOURCES_OPTIONS, useValue: … }`.
 */
export const SOURCES_ENGINE_PROVIDERS: Provider[] = [
  Clock,
  HostResolver,
  HttpClient,
  ProcessRunner,
  ArtifactStore,
  GitFetcher,
  HelmRepositoryClient,
];
