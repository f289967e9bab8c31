import { LeaseEntity } from './lease.entity';

/**
 * Every TypeORM entity of the application. The migration drift check and the
 * test databases use this list, so an entity missing here is caught in CI.
 */
export const ENTITIES = [LeaseEntity];
