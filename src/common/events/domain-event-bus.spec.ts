import { Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runInTransaction, type TransactionRunner } from 'src/common/database/unit-of-work';
import { DomainEvent, DomainEventBus } from './domain-event-bus';

class ThingChanged extends DomainEvent {
  constructor(readonly id: string) {
    super();
  }
}

class OtherThing extends DomainEvent {}

// Never connected: only handed to the work as its manager.
const manager: EntityManager = new DataSource({ type: 'postgres' }).manager;

/** A database whose transactions log BEGIN/COMMIT/ROLLBACK; `failCommit`: COMMIT itself fails. */
function database(log: string[], failCommit = false): TransactionRunner {
  return {
    transaction: async <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => {
      log.push('BEGIN');
      try {
        const result = await work(manager);
        if (failCommit) {
          throw new Error('could not serialize access due to concurrent update');
        }
        log.push('COMMIT');
        return result;
      } catch (error) {
        log.push('ROLLBACK');
        throw error;
      }
    },
  };
}

function setup() {
  const sut = new DomainEventBus();
  const log: string[] = [];
  sut.subscribe(ThingChanged, (event) => {
    log.push(`handled ${event.id}`);
  });
  return { sut, log };
}

describe(DomainEventBus.name, () => {
  afterEach(() => vi.restoreAllMocks());

  it('delivers an event published in a transaction only after it commits', async () => {
    const { sut, log } = setup();
    await runInTransaction(database(log), async () => {
      sut.publish(new ThingChanged('a'));
      // Give a premature delivery every chance to happen.
      await new Promise((resolve) => setImmediate(resolve));
      log.push('still in the transaction');
    });
    await sut.idle();
    expect(log).toEqual(['BEGIN', 'still in the transaction', 'COMMIT', 'handled a']);
  });

  it('discards the events of a transaction that rolls back', async () => {
    const { sut, log } = setup();
    await expect(
      runInTransaction(database(log), () => {
        sut.publish(new ThingChanged('a'));
        return Promise.reject(new Error('quota exceeded'));
      }),
    ).rejects.toThrow('quota exceeded');
    await sut.idle();
    expect(log).toEqual(['BEGIN', 'ROLLBACK']);
  });

  it('discards the events of a transaction whose COMMIT fails', async () => {
    const { sut, log } = setup();
    await expect(
      runInTransaction(database(log, true), () => {
        sut.publish(new ThingChanged('a'));
        return Promise.resolve();
      }),
    ).rejects.toThrow('could not serialize');
    await sut.idle();
    expect(log).toEqual(['BEGIN', 'ROLLBACK']);
  });

  it('delivers a nested transaction’s events when it commits, even if the outer one rolls back', async () => {
    const { sut, log } = setup();
    const db = database(log);
    await expect(
      runInTransaction(db, async () => {
        await runInTransaction(db, () => {
          sut.publish(new ThingChanged('inner'));
          return Promise.resolve();
        });
        sut.publish(new ThingChanged('outer'));
        throw new Error('outer failed');
      }),
    ).rejects.toThrow('outer failed');
    await sut.idle();
    expect(log).toEqual(['BEGIN', 'BEGIN', 'COMMIT', 'ROLLBACK', 'handled inner']);
  });

  it('delivers at once outside a transaction, but never in the publisher’s call stack', async () => {
    const { sut, log } = setup();
    sut.publish(new ThingChanged('a'));
    log.push('publisher continues');
    await sut.idle();
    expect(log).toEqual(['publisher continues', 'handled a']);
  });

  it('isolates failing handlers: logged, never thrown into the publisher, the others still run', async () => {
    const { sut, log } = setup();
    const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    sut.subscribe(
      ThingChanged,
      () => {
        throw new Error('handler bug');
      },
      'throwing',
    );
    sut.subscribe(ThingChanged, () => Promise.reject(new Error('database down')), 'rejecting');
    sut.subscribe(ThingChanged, (event) => {
      log.push(`also handled ${event.id}`);
    });
    expect(() => sut.publish(new ThingChanged('a'))).not.toThrow();
    await expect(sut.idle()).resolves.toBeUndefined();
    expect(log).toEqual(['handled a', 'also handled a']);
    expect(logged.mock.calls.map(([entry]) => entry)).toEqual([
      expect.objectContaining({ event: 'ThingChanged', handler: 'throwing', error: 'handler bug' }),
      expect.objectContaining({
        event: 'ThingChanged',
        handler: 'rejecting',
        error: 'database down',
      }),
    ]);
  });

  it('delivers only to handlers of the event’s type, and no more once unsubscribed', async () => {
    const { sut, log } = setup();
    const unsubscribe = sut.subscribe(OtherThing, () => {
      log.push('other');
    });
    sut.publish(new ThingChanged('a'));
    await sut.idle();
    unsubscribe();
    sut.publish(new OtherThing());
    await sut.idle();
    expect(log).toEqual(['handled a']);
  });

  it('lets running handlers finish at shutdown and drops what is published afterwards', async () => {
    const { sut, log } = setup();
    let finish = (): void => undefined;
    sut.subscribe(OtherThing, () => new Promise<void>((resolve) => (finish = resolve)));
    sut.publish(new OtherThing());
    await new Promise((resolve) => setImmediate(resolve));
    let closed = false;
    const shutdown = sut.onApplicationShutdown().then(() => (closed = true));
    sut.publish(new ThingChanged('late'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    finish();
    await shutdown;
    await sut.idle();
    expect(log).toEqual([]);
  });
});
