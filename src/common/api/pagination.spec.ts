import { describe, expect, it } from 'vitest';
import {
  decodeContinueToken,
  encodeContinueToken,
  filterDigest,
  isTimeIdCursor,
  toPage,
} from './pagination';

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

  it('refuse forged cursors before they reach SQL (400, not a database error)', () => {
    const id = '0b7c2a52-4a4e-4f0e-9a4f-3d2f1c0b9e8d';
    expect(
      decodeContinueToken(
        encodeContinueToken(['2026-11-27 16:20:48.123456+00', id], digest),
        digest,
        2,
        isTimeIdCursor,
      ),
    ).toEqual(['2026-11-27 16:20:48.123456+00', id]);
    expect(
      decodeContinueToken(
        encodeContinueToken(['2026-11-27T16:20:48.123Z', id], digest),
        digest,
        2,
        isTimeIdCursor,
      ),
    ).toHaveLength(2);
    for (const cursor of [
      ['yesterday', id],
      ['2026-02-30 00:00:00+00', id],
      ['2026-11-27 24:00:00+00', id],
      ['2026-11-27 16:20:48+00', 'not-a-uuid'],
    ]) {
      expect(() =>
        decodeContinueToken(encodeContinueToken(cursor, digest), digest, 2, isTimeIdCursor),
      ).toThrow(expect.objectContaining({ code: 'ValidationFailed' }));
    }
    expect(() => decodeContinueToken(encodeContinueToken(['a\0b'], digest), digest, 1)).toThrow(
      expect.objectContaining({ code: 'ValidationFailed' }),
    );
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
