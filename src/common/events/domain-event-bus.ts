import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { afterCommit } from 'src/common/database/unit-of-work';

/**
 * Something that happened in a context and is committed (or about to be).
 * Each context declares its events in `<ctx>.events.ts` as subclasses; a
 * handler subscribes to a class and receives its instances.
 */
export abstract class DomainEvent {}

/** An event class (its constructor), the key a handler subscribes with. */
export type DomainEventType<E extends DomainEvent> = abstract new (...args: never[]) => E;

export type DomainEventHandler<E extends DomainEvent> = (event: E) => void | Promise<void>;

interface Subscription {
  /** For logs: who failed. */
  readonly name: string;
  /** Calls the handler when the event is of its type; undefined otherwise. */
  readonly handle: (event: DomainEvent) => void | Promise<void> | undefined;
}

/** How long shutdown waits for handlers still running. */
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * The one in-process bus for domain events (see docs/adr/0009-domain-event-bus.md).
 * `publish` inside `runInTransaction` delivers only after that transaction
 * commits and never if it rolls back; outside one, the caller's write is
 * committed already and delivery starts at once. Either way handlers run on
 * a later turn of the event loop, never in the publisher's call stack; a
 * handler that throws or rejects is logged and does not affect the
 * publisher or the other handlers. Delivery is in-process and not durable:
 * only the replica that committed the change hears of it, and a crash loses
 * what was not delivered, so every consumer keeps a periodic pass that
 * catches up from the database.
 */
@Injectable()
export class DomainEventBus implements OnApplicationShutdown {
  private readonly logger = new Logger(DomainEventBus.name);
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  /** Calls `handler` for every event of `type` (and its subclasses); returns the unsubscribe. */
  subscribe<E extends DomainEvent>(
    type: DomainEventType<E>,
    handler: DomainEventHandler<E>,
    name = `${type.name} handler`,
  ): () => void {
    const subscription: Subscription = {
      name,
      handle: (event) => (event instanceof type ? handler(event) : undefined),
    };
    this.subscriptions.push(subscription);
    return () => {
      const i = this.subscriptions.indexOf(subscription);
      if (i >= 0) {
        this.subscriptions.splice(i, 1);
      }
    };
  }

  /** Delivers `event` after the surrounding unit of work commits (at once without one). */
  publish(event: DomainEvent): void {
    afterCommit(() => this.schedule(event));
  }

  /** Resolves once every event published so far was delivered and its handlers settled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Lets running handlers finish (bounded); events published afterwards are dropped. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.race([
      this.idle(),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref()),
    ]);
  }

  private schedule(event: DomainEvent): void {
    if (this.closed) {
      this.logger.debug({ msg: 'domain event dropped at shutdown', event: event.constructor.name });
      return;
    }
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.deliver(event))
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  private async deliver(event: DomainEvent): Promise<void> {
    await Promise.all(
      [...this.subscriptions].map(async (subscription) => {
        try {
          await subscription.handle(event);
        } catch (error) {
          // Only the type: payloads are for handlers, and a future event may carry something secret.
          this.logger.error({
            msg: 'domain event handler failed',
            event: event.constructor.name,
            handler: subscription.name,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }),
    );
  }
}
