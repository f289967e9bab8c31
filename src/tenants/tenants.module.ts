import { Module } from '@nestjs/common';
import { EventsModule } from 'src/modules/events/events.module';
import { TenantRepository } from './tenant.repository';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [EventsModule],
  controllers: [TenantsController],
  providers: [TenantRepository, TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
