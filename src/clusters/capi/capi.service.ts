import { Injectable } from '@nestjs/common';
import { CapiClusterRecord, CapiClusterRepository } from './capi-cluster.repository';

/** Read side of Cluster API discovery, for the admin API. */
@Injectable()
export class CapiService {
  constructor(private readonly records: CapiClusterRepository) {}

  /** The Cluster API Clusters seen, by namespace and name. */
  async list(): Promise<CapiClusterRecord[]> {
    return this.records.list();
  }
}
