import { describe, expect, it } from 'vitest';
import type { ReleaseSpecDto } from './dto/release.dto';
import { specProblems } from './releases.service';

const base: ReleaseSpecDto = {
  source: 'config',
  path: 'apps/web',
  targetNamespace: 'apps',
  clusterNames: ['prod-eu'],
};

describe('release kustomize overlay validation', () => {
  it('accepts an overlay on a plain or Kustomize path', () => {
    expect(
      specProblems('web', {
        ...base,
        kustomize: { namePrefix: 'eu-', components: ['../components/tls'] },
      }),
    ).toEqual([]);
    expect(specProblems('web', { ...base, kind: 'kustomize', kustomize: {} })).toEqual([]);
  });

  it('refuses an overlay on a Helm release, by kind or by helm spec', () => {
    for (const helm of [
      { kind: 'helm' as const, helm: { chart: 'charts/web' } },
      { helm: { chart: 'charts/web' } },
    ]) {
      expect(specProblems('web', { ...base, ...helm, kustomize: { namePrefix: 'eu-' } })).toEqual([
        {
          field: 'kustomize',
          message: expect.stringContaining(
            'overlays apply to plain manifests and Kustomize paths, not to a Helm release',
          ),
        },
      ]);
    }
  });

  it('resolves components against the release path as given', () => {
    // `./apps/web/` is normalized as the stored path is: one level up stays inside.
    expect(
      specProblems('web', { ...base, path: './apps/web/', kustomize: { components: ['../../c'] } }),
    ).toEqual([]);
    expect(
      specProblems('web', { ...base, kustomize: { components: ['../../../c'] } }).map(
        (p) => p.field,
      ),
    ).toEqual(['kustomize.components.0']);
  });
});
