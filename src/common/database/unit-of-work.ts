import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** What `runInTransaction` needs of a DataSource (a real one in the app, a fake in small specs). */
export interface TransactionRunner {
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
}

interface UnitOfWork {
  readonly afterCommit: (() => void)[];
  state: 'open' | 'committed' | 'rolledBack';
}

// The unit of work the current async call chain runs in, if any.
const current = new AsyncLocalStorage<UnitOfWork>();
const logger = new Logger('UnitOfWork');

/**
 * Runs `work` in a database transaction as a unit of work: callbacks
 * registered with `afterCommit` while it runs are called once COMMIT has
 * succeeded, and dropped if the transaction rolls back (or COMMIT fails).
 * A nested call is its own transaction (TypeORM opens another connection) and
 * so its own unit of work: its callbacks run when *it* commits.
 */
export async function runInTransaction<T>(
  db: TransactionRunner,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const unit: UnitOfWork = { afterCommit: [], state: 'open' };
  let result: T;
  try {
    result = await current.run(unit, () => db.transaction(work));
  } catch (error) {
    unit.state = 'rolledBack';
    unit.afterCommit.length = 0;
    throw error;
  }
  unit.state = 'committed';
  for (const callback of unit.afterCommit.splice(0)) {
    // The data is committed: a failing callback must neither skip the others nor fail the caller.
    try {
      callback();
    } catch (error) {
      logger.error({
        msg: 'after-commit callback failed',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return result;
}

/**
 * Calls `callback` after the surrounding unit of work commits; at once when
 * there is none (the caller's write is already committed), or when it has
 * already ended (a task the transaction started that outlived it).
 */
export function afterCommit(callback: () => void): void {
  const unit = current.getStore();
  if (unit === undefined || unit.state !== 'open') {
    callback();
    return;
  }
  unit.afterCommit.push(callback);
}
