import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { EventRepository } from './event.repository';
import { EventsService } from './events.service';

/** Event store and audit log. The audit interceptor applies to every `@Audited` route. */
@Module({
  controllers: [AuditController],
  providers: [
    AuditRepository,
    AuditService,
    EventRepository,
    EventsService,
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditService, EventsService],
})
export class EventsModule {}
