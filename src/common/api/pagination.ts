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

/**
 * The cursor of a token this list issued, or a 400 naming `continue`. Tokens
 * are not signed, so a cursor is checked before it reaches SQL: no NUL (which
 * PostgreSQL text refuses), and `valid` for typed keys (see `isTimeIdCursor`).
 */
export function decodeContinueToken(
  token: string | undefined,
  digest: string,
  arity: number,
  valid: (cursor: Cursor) => boolean = () => true,
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
    !b.a.every((x) => typeof x === 'string' && !x.includes('\0'))
  ) {
    throw invalid('is not a continue token issued by this list');
  }
  if (b.f !== digest) {
    throw invalid('was issued for a list with other filters; repeat the filters of the first page');
  }
  if (!valid(b.a)) {
    throw invalid('is not a continue token issued by this list');
  }
  return b.a;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ISO 8601 (`toISOString`) or PostgreSQL's `timestamptz::text`.
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

function isTimestamp(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (m === null) {
    return false;
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Day 0 of the next month is the last day of this one.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

/** For lists ordered by (time, id): a timestamp PostgreSQL accepts and a UUID. */
export const isTimeIdCursor = (cursor: Cursor): boolean =>
  isTimestamp(cursor[0] ?? '') && UUID.test(cursor[1] ?? '');

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
