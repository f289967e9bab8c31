import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

@Injectable()
export class HealthService {
  private migrated = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Undefined when ready, otherwise a short operator-facing reason. */
  async readinessProblem(): Promise<string | undefined> {
    try {
      await this.dataSource.query('SELECT 1');
    } catch {
      return 'database unreachable';
    }
    if (!this.migrated) {
      // Pending migrations only ever disappear, so once clear stays clear.
      this.migrated = !(await this.dataSource.showMigrations());
      if (!this.migrated) {
        return 'database migrations pending';
      }
    }
    return undefined;
  }
}
