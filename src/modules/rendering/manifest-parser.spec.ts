import { describe, expect, it } from 'vitest';
import { ManifestCollector, splitYamlDocuments } from './manifest-parser';

const limits = { maxObjects: 100, maxRenderedBytes: 1_000_000, maxAliasCount: 100 };

function collector(
  overrides: Partial<typeof limits> = {},
  vars: Map<string, string> | null = new Map<string, string>(),
  strict = false,
): ManifestCollector {
  return new ManifestCollector(
    { ...limits, ...overrides },
    vars === null ? undefined : { vars, strict },
  );
}

const BILLION_LAUGHS = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: {name: lol}',
  'data:',
  '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  '  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  '  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  '  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  '  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  '  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  '  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  '  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  '  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
].join('\n');

describe('ManifestCollector', () => {
  it('splits streams at document markers only at column 0', () => {
    const text = 'a: 1\n---\nb: |\n  ---\n  text\n--- \nc: 3\n...\n---\n%YAML 1.2\n---\nd: 4\n';
    expect(splitYamlDocuments(text)).toEqual([
      'a: 1\n',
      '---\nb: |\n  ---\n  text\n',
      '--- \nc: 3\n',
      '%YAML 1.2\n---\nd: 4\n',
    ]);
  });

  it('parses multi-document YAML, ignores empty documents and flattens Lists', () => {
    const sut = collector();
    sut.addYaml(
      '---\n# just a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n' +
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n- {apiVersion: v1, kind: Service, metadata: {name: c}}\n',
      'x.yaml',
    );
    expect(sut.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/a',
      'Secret/b',
      'Service/c',
    ]);
  });

  it('fails fast on a YAML alias bomb', () => {
    const started = performance.now();
    expect(() => collector().addYaml(BILLION_LAUGHS, 'bomb.yaml')).toThrow(
      expect.objectContaining({
        code: 'LimitExceeded',
        message: 'too many YAML aliases in bomb.yaml (limit 100)',
      }),
    );
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses more objects than the cap', () => {
    const doc = (n: number): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${n}}\n---\n`;
    expect(() => collector({ maxObjects: 2 }).addYaml(doc(1) + doc(2) + doc(3), 'x.yaml')).toThrow(
      expect.objectContaining({ code: 'LimitExceeded', message: 'rendered more than 2 objects' }),
    );
  });

  it('refuses more rendered bytes than the cap', () => {
    expect(() =>
      collector({ maxRenderedBytes: 50 }).addYaml(`a: ${'x'.repeat(60)}\n`, 'x.yaml'),
    ).toThrow(expect.objectContaining({ code: 'LimitExceeded' }));
  });

  it('substitutes per document before parsing, so values can carry types', () => {
    const sut = collector({}, new Map([['replicas', '3']]));
    sut.addYaml(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: ${replicas}\n',
      'd.yaml',
    );
    expect(sut.objects[0]?.spec).toEqual({ replicas: 3 });
  });

  it.each([
    ['annotated gitfleet.dev/substitute', 'annotations:\n    gitfleet.dev/substitute: disabled'],
    [
      "annotated with Flux's key",
      'annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled',
    ],
    ["labelled with Flux's key", 'labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled'],
  ])('skips substitution for objects %s: disabled', (_what, meta) => {
    const sut = collector({}, new Map([['HOME', '/h']]));
    sut.addYaml(
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\n  ${meta}\ndata:\n  run.sh: echo \${HOME} $\${x}\n`,
      's.yaml',
    );
    expect(sut.objects[0]?.data).toEqual({ 'run.sh': 'echo ${HOME} $${x}' });
  });

  it('takes text literally without a substitution', () => {
    const sut = collector({}, null);
    sut.addYaml(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: "${x} $${y}"}\n',
      'a.yaml',
    );
    expect(sut.objects[0]?.data).toEqual({ a: '${x} $${y}' });
  });

  it('names the file and object of an undefined variable in strict mode', () => {
    expect(() =>
      collector({}, new Map(), true).addYaml(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: ${nope}\n',
        'apps/web.yaml',
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'UndefinedVariable',
        message:
          'variable substitution failed in apps/web.yaml (ConfigMap/web): variable not set (strict mode): "nope"',
      }),
    );
  });

  it('reports invalid YAML and non-object documents with the file, without echoing content', () => {
    expect(() => collector().addYaml('a: [unclosed\nsecret: hunter2\n', 'bad.yaml')).toThrow(
      expect.objectContaining({
        code: 'RenderFailed',
        message: expect.stringMatching(/^invalid YAML in bad\.yaml/),
      }),
    );
    expect(() => collector().addYaml('a: [unclosed\nsecret: hunter2\n', 'bad.yaml')).not.toThrow(
      /hunter2/,
    );
    expect(() => collector().addYaml('- just\n- a list\n', 'list.yaml')).toThrow(
      expect.objectContaining({
        code: 'RenderFailed',
        message: 'list.yaml: a document is not a mapping (a Kubernetes object)',
      }),
    );
  });

  it('refuses duplicate keys', () => {
    expect(() => collector().addYaml('kind: A\nkind: B\n', 'dup.yaml')).toThrow(
      expect.objectContaining({ code: 'RenderFailed' }),
    );
  });
});
