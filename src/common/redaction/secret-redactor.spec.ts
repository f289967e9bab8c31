import { describe, expect, it } from 'vitest';
import { SecretRedactor } from './secret-redactor';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('SecretRedactor', () => {
  it('redacts a value wherever it appears, raw, JSON-escaped and base64', () => {
    const sut = new SecretRedactor();
    sut.addValue('pa"ss\\word');
    expect(sut.redact('a pa"ss\\word b "pa\\"ss\\\\word" c ' + b64('pa"ss\\word'))).toBe(
      'a [redacted] b "[redacted]" c [redacted]',
    );
  });

  it('leaves values shorter than 4 characters alone', () => {
    const sut = new SecretRedactor();
    sut.addValue('abc');
    sut.addSecretObject({ kind: 'Secret', stringData: { a: 'no' } });
    expect(sut.size).toBe(0);
    expect(sut.redact('abc no')).toBe('abc no');
  });

  it('redacts each line of a multi-line value', () => {
    const sut = new SecretRedactor();
    sut.addValue('-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\n-----END KEY-----\n');
    expect(sut.redact('node contents:\n|\n  MIIBOgIBAAJBAKj34\n')).toBe(
      'node contents:\n|\n  [redacted]\n',
    );
  });

  it('merges overlapping matches so no fragment survives', () => {
    const sut = new SecretRedactor();
    sut.addValue('abcdef');
    sut.addValue('defghi');
    expect(sut.redact('x abcdefghi y')).toBe('x [redacted] y');
  });

  it('redacts a cut-off start of a value at the end of truncated text only', () => {
    const sut = new SecretRedactor();
    sut.addValue('hunter2-SuperSecret');
    expect(sut.redact('error: hunter2-Su', { truncated: true })).toBe('error: [redacted]');
    expect(sut.redact('error: hunter2-Su')).toBe('error: hunter2-Su');
  });

  it('takes data (encoded and decoded) and stringData of Secrets, also in Lists, nothing else', () => {
    const sut = new SecretRedactor();
    sut.addSecretObject({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          data: { t: b64('token-value') },
          stringData: { p: 'pass-1' },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', data: { c: 'config-value' } },
        { apiVersion: 'example.com/v1', kind: 'Secret', stringData: { x: 'not-core' } },
      ],
    });
    expect(sut.redact(`${b64('token-value')} token-value pass-1 config-value not-core`)).toBe(
      '[redacted] [redacted] [redacted] config-value not-core',
    );
  });

  it('does not decode binary data, but still redacts the base64 string', () => {
    const sut = new SecretRedactor();
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x81]).toString('base64');
    sut.addEncoded(binary);
    expect(sut.redact(`v=${binary}`)).toBe('v=[redacted]');
  });
});

describe('SecretRedactor options', () => {
  it('uses the given placeholder and minimum length, and addExact takes one form only', () => {
    const sut = new SecretRedactor({ placeholder: '***', minLength: 1 });
    sut.addExact('pw');
    expect(sut.redact('a pw b')).toBe('a *** b');
    expect(sut.redact(`a ${b64('pw')} b`)).toBe(`a ${b64('pw')} b`);
  });
});
