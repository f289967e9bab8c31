import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { RenderingError } from './rendering.errors';
import type { HelmRenderSpec, RenderRequest } from './rendering.types';
import * as redaction from './secret-redaction';

// Wraps the real scan, so a spec can tell whether a render paid for it.
vi.mock('./secret-redaction', async (importOriginal) => {
  const original = await importOriginal<typeof import('./secret-redaction')>();
  return { ...original, collectRenderSecrets: vi.fn(original.collectRenderSecrets) };
});

const PASSWORD = 'hunter2-SuperSecret';
const TOKEN = 'secret-token-value';
const TOKEN_B64 = Buffer.from(TOKEN).toString('base64');
const PEM_LINE = 'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu';

const SECRET = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata:',
  '  name: db',
  'stringData:',
  `  password: ${PASSWORD}`,
  '  pem: |',
  '    -----BEGIN KEY-----',
  `    ${PEM_LINE}`,
  '    -----END KEY-----',
  'data:',
  `  token: ${TOKEN_B64}`,
].join('\n');

/** A replacement into a field below a scalar: kustomize quotes the scalar ("node contents"). */
function replacementInto(fieldPath: string): string {
  return [
    'resources: [secret.yaml]',
    'replacements:',
    '- source: {kind: Secret, name: db, fieldPath: metadata.name}',
    '  targets:',
    '  - select: {kind: Secret, name: db}',
    `    fieldPaths: [${fieldPath}]`,
  ].join('\n');
}

async function renderError(scratch: Scratch, request: RenderRequest): Promise<RenderingError> {
  const { sut } = makeRenderingService(scratch);
  const error = await sut.render(request).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RenderingError);
  return error as RenderingError;
}

describe('RenderingService — no Secret value in render errors', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
    vi.mocked(redaction.collectRenderSecrets).mockClear();
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it.each([
    ['a stringData value', 'stringData.password.x', [PASSWORD]],
    ['a data value (base64)', 'data.token.x', [TOKEN_B64]],
    ['a multi-line stringData value', 'stringData.pem.x', [PEM_LINE]],
  ])(
    'kustomize quoting %s of a Secret is redacted, the rest of its message kept',
    async (_name, fieldPath, leaked) => {
      await scratch.write({
        'app/secret.yaml': SECRET,
        'app/kustomization.yaml': replacementInto(fieldPath),
      });
      const error = await renderError(scratch, makeRequest(scratch, { release: { path: 'app' } }));
      expect(error.code).toBe('RenderFailed');
      expect(error.message).toMatch(/^kustomize failed \(exit 1\): .*unable to find field/);
      expect(error.message).toContain(`"${fieldPath}" in replacement target`);
      expect(error.message).toContain('[redacted]');
      for (const value of leaked) {
        expect(error.message).not.toContain(value);
        expect(error.stack).not.toContain(value);
      }
    },
  );

  it('redacts a malformed inline Secret patch that kustomize quotes whole', async () => {
    await scratch.write({
      'app/secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n',
      'app/kustomization.yaml': [
        'resources: [secret.yaml]',
        'patches:',
        '- target: {kind: Secret}',
        '  patch: |-',
        '    apiVersion: v1',
        '    kind: Secret',
        '    metadata: {name: db}',
        '    stringData:',
        `      password: ${PASSWORD}`,
        '     bad: [',
      ].join('\n'),
    });
    const error = await renderError(scratch, makeRequest(scratch, { release: { path: 'app' } }));
    expect(error.message).toContain('unable to parse SM or JSON patch');
    expect(error.message).toContain('kind: Secret');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('redacts a secretGenerator literal kustomize quotes', async () => {
    await scratch.write({
      'app/kustomization.yaml': `secretGenerator:\n- name: s\n  literals: [${PASSWORD}]\n`,
    });
    const error = await renderError(scratch, makeRequest(scratch, { release: { path: 'app' } }));
    expect(error.message).toContain('invalid literal source [redacted], expected key=value');
    expect(error.message).not.toContain(PASSWORD);
  });

  describe('helm', () => {
    const CHART = {
      'chart/Chart.yaml': 'apiVersion: v2\nname: db\nversion: 1.0.0\n',
      'chart/values.yaml': 'password: ""\napiKey: ""\n',
      'chart/templates/check.yaml': [
        '{{- if lt (len .Values.password) 30 }}',
        '{{- fail (printf "password %q is too short" .Values.password) }}',
        '{{- end }}',
        '{{- required (printf "apiKey is required next to %s" .Values.password) .Values.apiKey }}',
      ].join('\n'),
    };
    const helm = (overrides: Partial<HelmRenderSpec>): RenderRequest =>
      makeRequest(scratch, {
        release: { path: 'chart', kind: 'helm', helm: { releaseName: 'db', ...overrides } },
      });

    beforeEach(async () => {
      await scratch.write(CHART);
    });

    it('redacts an inline value a template `fail`s with, escaped as helm prints it', async () => {
      const value = `${PASSWORD}"quoted`;
      const error = await renderError(scratch, helm({ values: { password: value } }));
      expect(error.message).toMatch(
        /^helm failed \(exit 1\): Error: execution error at \(db\/templates\/check\.yaml:2:4\): password "\[redacted\]" is too short/,
      );
      expect(error.message).not.toContain(PASSWORD);
    });

    it('redacts a values-file value a template `fail`s with', async () => {
      await scratch.write({ 'env/prod.yaml': `password: ${PASSWORD}\n` });
      const error = await renderError(scratch, helm({ valuesFiles: ['env/prod.yaml'] }));
      expect(error.message).toContain('execution error at (db/templates/check.yaml:2:4)');
      expect(error.message).toContain('password "[redacted]" is too short');
      expect(error.message).not.toContain(PASSWORD);
    });

    it('redacts a value quoted by `required`', async () => {
      const password = 'a-password-long-enough-to-pass-the-check';
      const error = await renderError(scratch, helm({ values: { password } }));
      expect(error.message).toContain('apiKey is required next to [redacted]');
      expect(error.message).not.toContain(password);
    });
  });

  it('scans nothing when the render succeeds', async () => {
    await scratch.write({
      'app/secret.yaml': SECRET,
      'app/kustomization.yaml': 'resources: [secret.yaml]\n',
    });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch, { release: { path: 'app' } }));
    expect(result.objects).toHaveLength(1);
    expect(redaction.collectRenderSecrets).not.toHaveBeenCalled();
  });

  it('does not scan for an aborted render (its message quotes no input)', async () => {
    await scratch.write({
      'app/secret.yaml': SECRET,
      'app/kustomization.yaml': 'resources: [secret.yaml]\n',
    });
    const controller = new AbortController();
    controller.abort();
    const error = await renderError(
      scratch,
      makeRequest(scratch, { release: { path: 'app' }, signal: controller.signal }),
    );
    expect(error).toMatchObject({ code: 'Aborted', message: 'render aborted' });
    expect(redaction.collectRenderSecrets).not.toHaveBeenCalled();
  });
});
