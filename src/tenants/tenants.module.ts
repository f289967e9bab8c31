import { Module } from '@nestjs/common';
import { TENANT_SCOPE_RESOLVER } from 'src/common/api/tenant-scope.pipe';
import { EventsModule } from 'src/modules/events/events.module';
import { TenantRepository } from './tenant.repository';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [EventsModule],
  controllers: [TenantsController],
  providers: [
    TenantRepository,
    TenantsService,
    // Backs the shared TenantScopePipe of every tenant-scoped controller.
    { provide: TENANT_SCOPE_RESOLVER, useExisting: TenantsService },
  ],
  exports: [TenantsService, TENANT_SCOPE_RESOLVER],
})
export class TenantsModule {}
