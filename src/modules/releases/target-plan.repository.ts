import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TargetEntity } from './entities/target.entity';

/**
 * Whole targets, inventory included, for dry-run plans: listings leave the
 * inventory out, and loading it target by target made the diff N+1.
 */
@Injectable()
export class TargetPlanRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The first `limit` targets of a release, in the cluster-name order of target listings. */
  forRelease(tenantId: string, releaseId: string, limit: number): Promise<TargetEntity[]> {
    return this.dataSource.getRepository(TargetEntity).find({
      where: { tenantId, releaseId },
      order: { clusterName: 'ASC' },
      take: limit,
    });
  }
}
