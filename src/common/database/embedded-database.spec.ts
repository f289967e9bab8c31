import { describe, expect, it } from 'vitest';
import { describeStartFailure } from './embedded-database';

const where = { databaseDir: '/data/postgres', port: 54329 };

describe(describeStartFailure.name, () => {
  it('names the port setting when the port is taken', () => {
    const log =
      'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\nFATAL:  could not create any TCP/IP sockets\n';
    expect(describeStartFailure(log, where)).toContain(
      'port 54329 on 127.0.0.1 is already in use (another PostgreSQL or gitfleet instance?). Stop it, or set EMBEDDED_DATABASE_PORT',
    );
  });

  it('names the data directory setting and both versions on a major-version mismatch', () => {
    const log =
      'FATAL:  database files are incompatible with server\nDETAIL:  The data directory was initialized by PostgreSQL version 15, which is not compatible with this version 17.10.\n';
    expect(describeStartFailure(log, where)).toBe(
      "embedded PostgreSQL cannot start: the data directory /data/postgres belongs to another major version of PostgreSQL (created by PostgreSQL 15, this is 17.10). Point GITFLEET_DATA_DIR at another directory, or move the old one away (dump it with that version's pg_dump first to keep its data).",
    );
  });

  it("quotes PostgreSQL's own reason otherwise, never 'undefined'", () => {
    expect(
      describeStartFailure(
        'postgres: could not access the server configuration file "/data/postgres/postgresql.conf": No such file or directory\n',
        where,
        undefined,
      ),
    ).toBe(
      'embedded PostgreSQL cannot start: could not access the server configuration file "/data/postgres/postgresql.conf": No such file or directory (data directory /data/postgres, port 54329; settings GITFLEET_DATA_DIR, EMBEDDED_DATABASE_PORT)',
    );
    expect(describeStartFailure('', where, undefined)).toBe(
      'embedded PostgreSQL cannot start: the server exited during start-up (data directory /data/postgres, port 54329; settings GITFLEET_DATA_DIR, EMBEDDED_DATABASE_PORT)',
    );
  });
});
