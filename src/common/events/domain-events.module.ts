import { Global, Module } from '@nestjs/common';
import { DomainEventBus } from './domain-event-bus';

/** The one domain-event bus, shared by every context (publishers and subscribers alike). */
@Global()
@Module({ providers: [DomainEventBus], exports: [DomainEventBus] })
export class DomainEventsModule {}
