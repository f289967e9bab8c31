import { describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger';
import { runWithLogContext } from './request-context';

describe('JsonLogger', () => {
  const capture = (): { lines: Record<string, unknown>[]; sut: JsonLogger } => {
    const lines: Record<string, unknown>[] = [];
    const sut = new JsonLogger('info', (line) =>
      lines.push(JSON.parse(line) as Record<string, unknown>),
    );
    return { lines, sut };
  };

  it('writes one JSON object per line with level, context and the request id', () => {
    const { lines, sut } = capture();
    runWithLogContext({ requestId: 'req-1' }, () => sut.log({ msg: 'hello', n: 1 }, 'Ctx'));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        context: 'Ctx',
        msg: 'hello',
        n: 1,
        requestId: 'req-1',
      }),
    ]);
  });

  it('drops lines below the level', () => {
    const { lines, sut } = capture();
    sut.debug('noise');
    expect(lines).toEqual([]);
  });

  it('redacts registered secrets wherever they appear', () => {
    const { lines, sut } = capture();
    sut.registerSecret('s3cr3t-value-42');
    sut.error(new Error('failed with s3cr3t-value-42 inside'));
    sut.warn({ msg: 'x', nested: { token: 'Bearer s3cr3t-value-42' } });
    expect(JSON.stringify(lines)).not.toContain('s3cr3t-value-42');
    expect(JSON.stringify(lines)).toContain('[REDACTED]');
  });
});
