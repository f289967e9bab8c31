import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { isTransientDatabaseError } from './db-errors';

const failed = (driverError: object, message = 'query failed'): QueryFailedError =>
  new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), driverError));

describe(isTransientDatabaseError.name, () => {
  it('retries a lost or refused connection, including a write to a closed socket', () => {
    expect(
      isTransientDatabaseError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
    ).toBe(true);
    expect(isTransientDatabaseError(failed({ code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('retries a server shutting down, starting or out of connections', () => {
    expect(isTransientDatabaseError(failed({ code: '57P01' }))).toBe(true);
    expect(isTransientDatabaseError(failed({ code: '57P03' }))).toBe(true);
    expect(isTransientDatabaseError(failed({ code: '53300' }))).toBe(true);
    expect(isTransientDatabaseError(failed({ code: '08006' }))).toBe(true);
  });

  it('does not retry what the server refused or our own mistakes', () => {
    expect(isTransientDatabaseError(failed({ code: '23505' }))).toBe(false);
    expect(isTransientDatabaseError(failed({ code: '08P01' }))).toBe(false);
    expect(isTransientDatabaseError(failed({}, 'invalid input syntax'))).toBe(false);
    expect(isTransientDatabaseError(new TypeError('x is undefined'))).toBe(false);
  });
});
