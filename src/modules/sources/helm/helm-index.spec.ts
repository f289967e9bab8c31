import { describe, expect, it } from 'vitest';
import { parseHelmIndex, resolveChartVersion } from 'src/modules/sources/helm/helm-index';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

const INDEX = `
apiVersion: v1
entries:
  podinfo:
    - { name: podinfo, version: 1.9.0, urls: [podinfo-1.9.0.tgz], digest: aa }
    - { name: podinfo, version: 1.10.0, urls: [podinfo-1.10.0.tgz], digest: bb }
    - { name: podinfo, version: 2.0.0-beta.1, urls: [podinfo-2.0.0-beta.1.tgz] }
    - { name: podinfo, version: not-semver, urls: [x.tgz] }
    - { name: podinfo, version: 3.0.0 }
  junk: 42
`;

describe('Helm index', () => {
  it('parses entries and skips unusable ones', () => {
    const index = parseHelmIndex(INDEX);
    expect(index.entries.podinfo?.map((c) => c.version)).toEqual([
      '1.9.0',
      '1.10.0',
      '2.0.0-beta.1',
      'not-semver',
    ]);
    expect(index.entries.junk).toBeUndefined();
  });

  it('resolves ranges to the highest version (1.10.0 over 1.9.0), prereleases only when asked', () => {
    const index = parseHelmIndex(INDEX);
    expect(resolveChartVersion(index, 'podinfo', '*').version).toBe('1.10.0');
    expect(resolveChartVersion(index, 'podinfo', '1.9.0').version).toBe('1.9.0');
    expect(resolveChartVersion(index, 'podinfo', '>=2.0.0-0').version).toBe('2.0.0-beta.1');
    expect(() => resolveChartVersion(index, 'podinfo', '^5')).toThrow(
      expect.objectContaining({ code: SourceErrorCode.ChartNotFound }),
    );
    expect(() => resolveChartVersion(index, 'podinfo', 'nope nope')).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidReference }),
    );
  });

  it('refuses a YAML alias bomb and documents without entries', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i += 1) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      bomb.push(`${next}: &${next} [${Array.from({ length: 10 }, () => `*${prev}`).join(',')}]`);
    }
    bomb.push('entries: {}');
    expect(() => parseHelmIndex(bomb.join('\n'))).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidIndex }),
    );
    expect(() => parseHelmIndex('apiVersion: v1\n')).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidIndex }),
    );
  });
});
