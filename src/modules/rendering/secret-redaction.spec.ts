import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectRenderSecrets } from './secret-redaction';

const LIMITS = { maxFiles: 100, maxFileBytes: 1024 * 1024, maxAliasCount: 100 };

describe('collectRenderSecrets', () => {
  let root: string;
  const write = async (files: Record<string, string>): Promise<void> => {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
  };
  const collect = (extra: { valuesFiles?: string[]; values?: unknown } = {}) =>
    collectRenderSecrets({ artifactRoot: root, scanDir: root, ...extra }, LIMITS);

  beforeEach(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'gitfleet-redaction-spec-')));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds Secrets in multi-document files at any depth, and skips .git', async () => {
    await write({
      'a/b/all.yaml': `kind: ConfigMap\ndata: {x: plain-config}\n---\napiVersion: v1\nkind: Secret\nstringData: {p: deep-secret}\n`,
      '.git/objects/x.yaml': 'apiVersion: v1\nkind: Secret\nstringData: {p: git-internal}\n',
    });
    const sut = await collect();
    expect(sut.redact('deep-secret plain-config git-internal')).toBe(
      '[redacted] plain-config git-internal',
    );
  });

  it('falls back to the lines and values of a Secret file that does not parse', async () => {
    await write({
      'broken.yaml':
        'apiVersion: v1\nkind: Secret\nstringData:\n  password: broken-secret\n bad: [\n',
    });
    const sut = await collect();
    expect(sut.redact('x "password: broken-secret" kind: Secret')).toBe(
      'x "[redacted]" kind: Secret',
    );
    expect(sut.redact('broken-secret')).toBe('[redacted]');
  });

  it('takes secretGenerator literals, env files and files, and values of patches to Secrets', async () => {
    await write({
      'k/kustomization.yaml': [
        'secretGenerator:',
        '- name: s',
        '  literals: [user=literal-secret, malformed-literal]',
        '  envs: [s.env]',
        '  files: [key=tls.key]',
        'patches:',
        '- target: {kind: Secret, name: s}',
        '  patch: |-',
        '    - op: add',
        '      path: /stringData/extra',
        '      value: patched-secret',
        '- target: {kind: Deployment}',
        '  patch: |-',
        '    - {op: add, path: /spec/replicas, value: deployment-value}',
      ].join('\n'),
      'k/s.env': '# comment-line\nTOKEN=env-secret\n',
      'k/tls.key': 'file-secret-content\n',
    });
    const sut = await collect();
    const text =
      'literal-secret malformed-literal env-secret file-secret-content patched-secret deployment-value comment-line';
    expect(sut.redact(text)).toBe(
      '[redacted] [redacted] [redacted] [redacted] [redacted] deployment-value comment-line',
    );
  });

  it('takes string leaves of values files (even broken ones) and all leaves of inline values', async () => {
    await write({
      'v/ok.yaml': 'db: {password: file-secret, port: 5432}\n',
      'v/broken.yaml': 'apiKey: broken-values-secret\n  x: [\n',
    });
    const sut = await collect({
      valuesFiles: [join(root, 'v/ok.yaml'), join(root, 'v/broken.yaml')],
      values: { nested: [{ pin: 987654 }, 'inline-secret'], flag: true },
    });
    expect(sut.redact('file-secret 5432 broken-values-secret 987654 inline-secret true')).toBe(
      '[redacted] 5432 [redacted] [redacted] [redacted] true',
    );
  });

  it('never reads outside the artifact through a symlink', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'gitfleet-redaction-outside-'));
    try {
      await writeFile(join(outside, 's.yaml'), 'kind: Secret\nstringData: {p: outside-secret}\n');
      const { symlink } = await import('node:fs/promises');
      await symlink(join(outside, 's.yaml'), join(root, 'link.yaml'));
      const sut = await collect();
      expect(sut.size).toBe(0);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
