import { describe, expect, it } from 'vitest';
import { decodeContinueToken, encodeContinueToken, filterDigest, toPage } from './pagination';

describe('continue tokens', () => {
  const digest = filterDigest({ labelSelector: 'a=b' });

  it('round-trip the cursor for the same filters', () => {
    const token = encodeContinueToken(['cluster-b'], digest);
    expect(decodeContinueToken(token, digest, 1)).toEqual(['cluster-b']);
  });

  it('are refused for other filters, garbage or the wrong shape (400 naming continue)', () => {
    const token = encodeContinueToken(['x'], digest);
    for (const [t, d, arity] of [
      [token, filterDigest({ labelSelector: 'a=c' }), 1],
      ['%%%', digest, 1],
      [Buffer.from('{"v":2}').toString('base64url'), digest, 1],
      [token, digest, 2],
    ] as const) {
      expect(() => decodeContinueToken(t, d, arity)).toThrow(
        expect.objectContaining({
          code: 'ValidationFailed',
          details: [expect.objectContaining({ field: 'continue' })],
        }),
      );
    }
  });

  it('filter digests ignore key order and undefined values', () => {
    expect(filterDigest({ a: 1, b: undefined, c: 'x' })).toBe(filterDigest({ c: 'x', a: 1 }));
  });

  it('pages: the extra row only signals a next page', () => {
    const rows = ['a', 'b', 'c'];
    const page = toPage(
      rows,
      2,
      (r) => [r],
      digest,
      (r) => r.toUpperCase(),
    );
    expect(page.items).toEqual(['A', 'B']);
    expect(decodeContinueToken(page.continue, digest, 1)).toEqual(['b']);
    expect(
      toPage(
        rows,
        3,
        (r) => [r],
        digest,
        (r) => r,
      ).continue,
    ).toBeUndefined();
  });
});
