import { Module } from '@nestjs/common';
import { TenantsModule } from 'src/tenants/tenants.module';
import { EventsController } from './events.controller';
import { EventsModule } from './events.module';

/** The events HTTP API; separate because tenants themselves record audit entries through EventsModule. */
@Module({ imports: [EventsModule, TenantsModule], controllers: [EventsController] })
export class EventsApiModule {}
