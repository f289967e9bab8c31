import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import { SOURCES_ENGINE_PROVIDERS } from 'src/modules/sources/sources-engine.providers';
import { SOURCES_OPTIONS, defaultSourcesOptions } from 'src/modules/sources/sources.options';

describe('SOURCES_ENGINE_PROVIDERS', () => {
  it('builds the fetch engine with Nest dependency injection', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'engine-di-'));
    try {
      const moduleRef = await Test.createTestingModule({
        providers: [
          ...SOURCES_ENGINE_PROVIDERS,
          { provide: SOURCES_OPTIONS, useValue: defaultSourcesOptions({ cacheDir }) },
        ],
      }).compile();
      expect(moduleRef.get(GitFetcher)).toBeInstanceOf(GitFetcher);
      expect(moduleRef.get(HelmRepositoryClient)).toBeInstanceOf(HelmRepositoryClient);
      await moduleRef.close();
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
