import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { hashDependencies, type ChartDependency, LOCK_OUT_OF_SYNC } from './helm-dependencies';
import type { ChartDependencyFetcher } from './rendering.types';

const run = promisify(execFile);

const chartYaml = (name: string, version: string, deps = ''): string =>
  `apiVersion: v2\nname: ${name}\nversion: ${version}\n${deps}`;
const cmTemplate = (suffix: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${suffix}\ndata:\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n`;

const CRD_FILE = [
  'apiVersion: apiextensions.k8s.io/v1',
  'kind: CustomResourceDefinition',
  'metadata: {name: widgets.example.com}',
  'spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: []}',
  '---',
  '# a second document in the same file carries no Source line',
  'apiVersion: apiextensions.k8s.io/v1',
  'kind: CustomResourceDefinition',
  'metadata: {name: gadgets.example.com}',
  'spec: {group: example.com, scope: Namespaced, names: {kind: Gadget, plural: gadgets}, versions: []}',
  '',
].join('\n');

describe('RenderingService — helm chart dependencies and crds/', () => {
  let scratch: Scratch;
  let home: string;

  /** The real helm in a home of its own, for the reference results. */
  const helm = async (args: string[]): Promise<string> =>
    (
      await run(join(process.cwd(), '.tools/bin/helm'), args, {
        env: { PATH: '/usr/bin:/bin', HOME: home },
      })
    ).stdout;

  beforeEach(async () => {
    scratch = await createScratch();
    home = join(scratch.dir, 'home');
    await mkdir(home);
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it("computes Chart.lock's digest as helm dependency update does", async () => {
    const deps = [
      '  - name: lib',
      '    version: ">=0.1.0 <1.0.0"',
      '    repository: "file://../lib"',
      '    condition: lib.enabled',
      '    tags: [backend, "db"]',
      '    alias: common',
      '    import-values: [data]',
      '  - name: lib',
      '    version: "~0.1.0"',
      '    repository: "file://../lib"',
      '',
    ].join('\n');
    await scratch.write({
      'lib/Chart.yaml': chartYaml('lib', '0.1.0'),
      'app/Chart.yaml': chartYaml('app', '1.0.0', `dependencies:\n${deps}`),
    });
    await helm(['dependency', 'update', join(scratch.artifact, 'app')]);
    const lock = parse(await readFile(join(scratch.artifact, 'app/Chart.lock'), 'utf8')) as {
      digest: string;
      dependencies: ChartDependency[];
    };
    const req = (
      parse(await readFile(join(scratch.artifact, 'app/Chart.yaml'), 'utf8')) as {
        dependencies: ChartDependency[];
      }
    ).dependencies;

    expect(hashDependencies(req, lock.dependencies)).toBe(lock.digest);
  });

  it('refuses a Chart.lock out of sync with Chart.yaml in the words helm dependency build uses', async () => {
    await scratch.write({
      'lib/Chart.yaml': chartYaml('lib', '0.1.0'),
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        'dependencies:\n  - {name: lib, version: 0.1.0, repository: "file://../lib"}\n',
      ),
      'app/templates/cm.yaml': cmTemplate('app'),
    });
    await helm(['dependency', 'update', join(scratch.artifact, 'app')]);
    // The dependency's constraint changes; the lock stays.
    await scratch.write({
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        'dependencies:\n  - {name: lib, version: ">=0.1.0", repository: "file://../lib"}\n',
      ),
    });
    const helmSays = await helm(['dependency', 'build', join(scratch.artifact, 'app')]).catch(
      (error: { stderr: string }) => error.stderr,
    );
    expect(helmSays).toContain(LOCK_OUT_OF_SYNC);

    const { sut } = makeRenderingService(scratch);
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'app', releaseName: 'web' } })),
    ).rejects.toMatchObject({ code: 'InvalidInput', message: `Chart.lock: ${LOCK_OUT_OF_SYNC}` });
  });

  it('renders file:// and fetched dependencies like helm dependency build + helm template', async () => {
    // The remote chart as an archive a repository would serve.
    await scratch.write({
      'remote-src/cache/Chart.yaml': chartYaml('cache', '2.1.0'),
      'remote-src/cache/templates/cm.yaml': cmTemplate('cache'),
      'lib/Chart.yaml': chartYaml('lib', '0.1.0'),
      'lib/templates/cm.yaml': cmTemplate('lib'),
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        [
          'dependencies:',
          '  - {name: lib, version: 0.1.0, repository: "file://../lib"}',
          '  - {name: cache, version: "^2.0.0", repository: "https://charts.example/stable"}',
          '',
        ].join('\n'),
      ),
      'app/templates/cm.yaml': cmTemplate('app'),
    });
    const packaged = join(scratch.dir, 'packaged');
    await helm(['package', join(scratch.artifact, 'remote-src/cache'), '-d', packaged]);
    const fetch = vi.fn<ChartDependencyFetcher>().mockResolvedValue({
      archivePath: join(packaged, 'cache-2.1.0.tgz'),
      version: '2.1.0',
    });
    const { sut } = makeRenderingService(scratch);

    const result = await sut.render(
      makeRequest(scratch, {
        release: { path: 'app', releaseName: 'web' },
        fetchChartDependency: fetch,
      }),
    );

    expect(result.kind).toBe('helm');
    expect(fetch).toHaveBeenCalledExactlyOnceWith(
      expect.objectContaining({
        name: 'cache',
        version: '^2.0.0',
        repository: 'https://charts.example/stable',
      }),
    );
    // The reference: the same chart with the archive vendored, as dependency build leaves it.
    const reference = join(scratch.dir, 'reference');
    await run('cp', ['-r', scratch.artifact, reference]);
    await mkdir(join(reference, 'app/charts'), { recursive: true });
    await run('cp', [join(packaged, 'cache-2.1.0.tgz'), join(reference, 'app/charts/')]);
    await helm(['package', join(reference, 'lib'), '-d', join(reference, 'app/charts')]);
    const expected = (
      await helm(['template', 'web', join(reference, 'app'), '--namespace', 'team-a'])
    )
      .split(/^---$/m)
      .map((doc) => parse(doc) as unknown)
      .filter((doc) => doc !== null);
    expect(result.objects).toEqual(expect.arrayContaining(expected));
    expect(result.objects).toHaveLength(expected.length);
    expect(
      result.objects.map((o) => (o.data as Record<string, string> | undefined)?.chart).sort(),
    ).toEqual(['app-1.0.0', 'cache-2.1.0', 'lib-0.1.0']);
  });

  it('uses a chart vendored in charts/ as helm does, without fetching it', async () => {
    await scratch.write({
      'vendor-src/cache/Chart.yaml': chartYaml('cache', '2.0.0'),
      'vendor-src/cache/templates/cm.yaml': cmTemplate('cache'),
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        'dependencies:\n  - {name: cache, version: "^2.0.0", repository: "https://charts.example"}\n',
      ),
    });
    await helm([
      'package',
      join(scratch.artifact, 'vendor-src/cache'),
      '-d',
      join(scratch.artifact, 'app/charts'),
    ]);
    const fetch = vi.fn<ChartDependencyFetcher>();
    const { sut } = makeRenderingService(scratch);

    const result = await sut.render(
      makeRequest(scratch, {
        release: { path: 'app', releaseName: 'web' },
        fetchChartDependency: fetch,
      }),
    );

    expect(fetch).not.toHaveBeenCalled();
    expect(
      result.objects.map((o) => (o.data as Record<string, string> | undefined)?.chart),
    ).toEqual(['cache-2.0.0']);
  });

  it('names the dependency, its repository and the cause when it cannot be fetched', async () => {
    await scratch.write({
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        'dependencies:\n  - {name: cache, version: 1.0.0, repository: "https://charts.example"}\n',
      ),
    });
    const fetch = vi
      .fn<ChartDependencyFetcher>()
      .mockRejectedValue(new Error('connect ECONNREFUSED'));
    const { sut } = makeRenderingService(scratch);

    await expect(
      sut.render(
        makeRequest(scratch, {
          release: { path: 'app', releaseName: 'web' },
          fetchChartDependency: fetch,
        }),
      ),
    ).rejects.toMatchObject({
      code: 'DependencyFetchFailed',
      retryable: true,
      message:
        'chart dependency "cache" from https://charts.example could not be fetched: connect ECONNREFUSED',
    });
  });

  it('marks every crds/ object of the chart and its subcharts, and nothing else', async () => {
    await scratch.write({
      'app/Chart.yaml': chartYaml('app', '1.0.0'),
      'app/crds/widgets.yaml': CRD_FILE,
      'app/templates/cm.yaml': cmTemplate('app'),
      'app/charts/sub/Chart.yaml': chartYaml('sub', '0.1.0'),
      'app/charts/sub/crds/things.yaml': CRD_FILE.replace(/widget/gi, 'thing').replace(
        /gadget/gi,
        'doohickey',
      ),
      'app/charts/sub/templates/cm.yaml': cmTemplate('sub'),
    });
    const { sut } = makeRenderingService(scratch);

    const result = await sut.render(
      makeRequest(scratch, { release: { path: 'app', releaseName: 'web' } }),
    );

    const marked = result.objects
      .filter((o) => o.metadata.annotations?.['gitfleet.dev/helm-crd'] === 'crds')
      .map((o) => o.metadata.name);
    expect(marked.sort()).toEqual([
      'doohickeys.example.com',
      'gadgets.example.com',
      'things.example.com',
      'widgets.example.com',
    ]);
    for (const object of result.objects) {
      const isCrd = object.kind === 'CustomResourceDefinition';
      expect(object.metadata.annotations?.['gitfleet.dev/prune']).toBe(
        isCrd ? 'disabled' : undefined,
      );
    }
  });

  it('reads a Chart.yaml directory as plain YAML when kind plain is set', async () => {
    await scratch.write({
      'app/Chart.yaml': chartYaml('app', '1.0.0'),
      'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n',
    });
    const { sut } = makeRenderingService(scratch);

    // Detected: helm template renders no templates, and cm.yaml is not one.
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'app', releaseName: 'web' } })),
    ).resolves.toMatchObject({ kind: 'helm', objects: [] });
    const plain = await sut.render(
      makeRequest(scratch, { release: { path: 'app', kind: 'plain' } }),
    );
    expect(plain.kind).toBe('plain');
    expect(plain.objects.map((o) => o.metadata.name)).toContain('plain');
  });

  it('detects a chart path for the render cache without throwing on bad paths', async () => {
    await scratch.write({ 'app/Chart.yaml': chartYaml('app', '1.0.0'), 'plain/a.yaml': '' });
    const { sut } = makeRenderingService(scratch);

    expect(await sut.detectsChart(scratch.artifact, 'app')).toBe(true);
    expect(await sut.detectsChart(scratch.artifact, 'plain')).toBe(false);
    expect(await sut.detectsChart(scratch.artifact, '../etc')).toBe(false);
  });

  it('never shows credentials written into a dependency URL (canary)', async () => {
    const canary = 'Canary-Dep-Secret-7f3a';
    await scratch.write({
      'app/Chart.yaml': chartYaml(
        'app',
        '1.0.0',
        `dependencies:\n  - {name: cache, version: 1.0.0, repository: "https://bot:${canary}@charts.example/?token=${canary}"}\n`,
      ),
    });
    const fetch = vi.fn<ChartDependencyFetcher>().mockRejectedValue(new Error('refused'));
    const { sut } = makeRenderingService(scratch);

    const error = await sut
      .render(
        makeRequest(scratch, {
          release: { path: 'app', releaseName: 'web' },
          fetchChartDependency: fetch,
        }),
      )
      .then(
        () => new Error('rendered'),
        (e: unknown) => e as Error,
      );

    expect(error).toMatchObject({ code: 'DependencyFetchFailed' });
    expect(error.message).toContain('https://***@charts.example/?***');
    expect(`${error.message}${error.stack ?? ''}`).not.toContain(canary);
  });
});
