import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  makeTarget,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { RenderingError } from './rendering.errors';

describe('RenderingService — plain directories', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it('walks recursively in sorted order, reads multi-document YAML and JSON, skips hidden dirs', async () => {
    await scratch.write({
      'apps/b.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b1}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b2}\n',
      'apps/a/x.yml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: a-x}\n',
      'apps/c.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c-json' } }],
      }),
      'apps/.hidden/ignored.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n',
      'apps/README.md': '# not a manifest',
      'other/outside-path.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n',
    });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch, { release: { path: 'apps' } }));
    expect(result.kind).toBe('plain');
    expect(result.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Secret/a-x',
      'ConfigMap/b1',
      'ConfigMap/b2',
      'Service/c-json',
    ]);
    expect(result.stats.objects).toBe(4);
    expect(result.stats.bytes).toBeGreaterThan(0);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await sut.render(makeRequest(scratch, { release: { path: 'apps/' } }));
    expect(again.digest).toBe(result.digest);
  });

  it('substitutes built-in and release variables per cluster, with escapes', async () => {
    await scratch.write({
      'cm.yaml': [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: cfg-${cluster_name}',
        '  namespace: ${target_namespace}',
        'data:',
        '  region: ${cluster_label_topology_kubernetes_io_region}',
        '  tenant: ${tenant}',
        '  tag: ${image_tag}',
        '  literal: $${image_tag}',
      ].join('\n'),
    });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(
      makeRequest(scratch, {
        release: { path: '.', postBuild: { variables: { image_tag: 'v1.2.3' } } },
      }),
    );
    expect(result.objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg-eu-1', namespace: 'team-a' },
        data: { region: 'eu-west', tenant: 'team-a', tag: 'v1.2.3', literal: '${image_tag}' },
      },
    ]);
    const other = await sut.render(
      makeRequest(scratch, {
        release: { path: '.', postBuild: { variables: { image_tag: 'v1.2.3' } } },
        target: makeTarget({ clusterName: 'us-1' }),
      }),
    );
    expect(other.objects[0]?.metadata.name).toBe('cfg-us-1');
    expect(other.digest).not.toBe(result.digest);
  });

  it('renders literally without a postBuild: every ${...} stays', async () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: ${not_set}\n  b: $${x}\n  c: ${HOME:-/root}\n  d: ${cluster_name}\n';
    await scratch.write({ 'apps/cm.yaml': text });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch));
    expect(result.objects[0]?.data).toEqual({
      a: '${not_set}',
      b: '$${x}',
      c: '${HOME:-/root}',
      d: '${cluster_name}',
    });
  });

  it('with a postBuild, an undefined variable is empty as in Flux, and fails when strict', async () => {
    await scratch.write({
      'apps/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: "${not_set}"\n  b: ${HOME:-/root}\n',
    });
    const request = makeRequest(scratch, { release: { path: '.', postBuild: { variables: {} } } });
    const lax = await makeRenderingService(scratch).sut.render(request);
    expect(lax.objects[0]?.data).toEqual({ a: '', b: '/root' });
    const strict = makeRenderingService(scratch, { strictPostBuildSubstitutions: true }).sut;
    await expect(strict.render(request)).rejects.toMatchObject({
      code: 'UndefinedVariable',
      message:
        'variable substitution failed in apps/cm.yaml (ConfigMap/web): variable not set (strict mode): "not_set"',
    });
  });

  it('refuses a path with .. or an absolute path', async () => {
    const { sut } = makeRenderingService(scratch);
    await expect(
      sut.render(makeRequest(scratch, { release: { path: '../' } })),
    ).rejects.toMatchObject({ code: 'PathEscapesArtifact' });
    await expect(
      sut.render(makeRequest(scratch, { release: { path: '/etc' } })),
    ).rejects.toMatchObject({ code: 'PathEscapesArtifact' });
  });

  it('refuses a symlinked path or file leading out of the artifact without echoing its content', async () => {
    await scratch.write({
      'apps/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n',
    });
    await scratch.link('apps/passwd.yaml', '/etc/passwd');
    await scratch.link('linked-dir', '/etc');
    const { sut } = makeRenderingService(scratch);
    const error = await sut
      .render(makeRequest(scratch, { release: { path: 'apps' } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderingError);
    expect(error).toMatchObject({
      code: 'PathEscapesArtifact',
      message: 'apps/passwd.yaml is a symlink that resolves outside the artifact',
    });
    expect((error as Error).message).not.toMatch(/root:/);
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'linked-dir' } })),
    ).rejects.toMatchObject({
      code: 'PathEscapesArtifact',
    });
  });

  it('follows symlinked files that stay inside the artifact', async () => {
    await scratch.write({
      'shared/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n',
    });
    await scratch.link('apps/cm.yaml', '../shared/cm.yaml');
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch, { release: { path: 'apps' } }));
    expect(result.objects.map((o) => o.metadata.name)).toEqual(['shared']);
  });

  it('refuses too many files, a too large file, too many objects and too many bytes', async () => {
    const cm = (n: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${n}}\n`;
    await scratch.write(
      Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`many/f${i}.yaml`, cm(i)])),
    );
    await scratch.write({ 'big/big.yaml': `${cm(0)}data:\n  x: ${'y'.repeat(2_000)}\n` });
    const limited = (o: Parameters<typeof makeRenderingService>[1]) =>
      makeRenderingService(scratch, o).sut;
    await expect(
      limited({ maxFiles: 4 }).render(makeRequest(scratch, { release: { path: 'many' } })),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'more than 4 manifest files',
    });
    await expect(
      limited({ maxFileBytes: 1_000 }).render(makeRequest(scratch, { release: { path: 'big' } })),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'big/big.yaml is larger than 1000 bytes',
    });
    await expect(
      limited({ maxObjects: 3 }).render(makeRequest(scratch, { release: { path: 'many' } })),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'rendered more than 3 objects',
    });
    await expect(
      limited({ maxRenderedBytes: 150 }).render(
        makeRequest(scratch, { release: { path: 'many' } }),
      ),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'rendered output exceeds 150 bytes',
    });
  });

  it('refuses a YAML alias bomb in a plain directory', async () => {
    const lines = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: lol}',
      'data:',
      '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ];
    for (const [prev, cur] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
      ['g', 'h'],
    ]) {
      lines.push(`  ${cur}: &${cur} [${Array.from({ length: 9 }, () => `*${prev}`).join(',')}]`);
    }
    await scratch.write({ 'bomb.yaml': lines.join('\n') });
    const { sut } = makeRenderingService(scratch);
    await expect(sut.render(makeRequest(scratch))).rejects.toMatchObject({ code: 'LimitExceeded' });
  });
});
