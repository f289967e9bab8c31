import { createHash } from 'node:crypto';
import { CommonError } from 'src/common/errors/app-error';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** One page of a list in a stable order; `continue` is absent on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly continue?: string;
}

/**
 * Position after the last item of a page: the sort key of that item. Keyset
 * pagination, so inserts and deletes between pages neither skip nor repeat
 * items that existed all along.
 */
export type Cursor = readonly string[];

interface TokenBody {
  v: 1;
  a: string[];
  f: string;
}

/** Short digest of the list's filters; a token only continues the list it came from. */
export function filterDigest(filters: Readonly<Record<string, unknown>>): string {
  const normalized = Object.keys(filters)
    .sort()
    .filter((k) => filters[k] !== undefined)
    .map((k) => [k, filters[k]]);
  return createHash('sha256').update(JSON.stringify(normalized)).digest('base64url').slice(0, 12);
}

export function encodeContinueToken(cursor: Cursor, digest: string): string {
  const body: TokenBody = { v: 1, a: [...cursor], f: digest };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

const invalid = (message: string): Error =>
  new CommonError('ValidationFailed', `continue: ${message}`, [{ field: 'continue', message }]);

export function decodeContinueToken(
  token: string | undefined,
  digest: string,
  arity: number,
): Cursor | undefined {
  if (token === undefined || token === '') {
    return undefined;
  }
  let body: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) {
      throw new Error('charset');
    }
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid('is not a continue token issued by this list');
  }
  const b = body as Partial<TokenBody> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    b.v !== 1 ||
    !Array.isArray(b.a) ||
    b.a.length !== arity ||
    !b.a.every((x) => typeof x === 'string')
  ) {
    throw invalid('is not a continue token issued by this list');
  }
  if (b.f !== digest) {
    throw invalid('was issued for a list with other filters; repeat the filters of the first page');
  }
  return b.a;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says that
 * another page exists.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  cursorOf: (row: R) => Cursor,
  digest: string,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    ...(more && last !== undefined
      ? { continue: encodeContinueToken(cursorOf(last), digest) }
      : {}),
  };
}
