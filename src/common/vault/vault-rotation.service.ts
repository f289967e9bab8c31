import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from 'src/common/errors/app-error';
import { SEALED_COLUMNS, SealedColumn } from './sealed-columns';
import { SecretVault } from './secret-vault';

export const SEALED_COLUMNS_TOKEN = Symbol('SEALED_COLUMNS');

export interface RotationFailure {
  readonly table: string;
  readonly id: string;
  readonly code: string;
}

export interface RotationReport {
  readonly activeKeyId: string;
  /** Rows re-encrypted under the active key. */
  readonly rotated: number;
  /** Rows changed by someone else meanwhile (they were written under the active key then). */
  readonly conflicts: number;
  /** Rows that could not be decrypted; they keep their old envelope. */
  readonly failed: readonly RotationFailure[];
  /** Rows still not under the active key after the run; 0 means old keys can be removed. */
  readonly remaining: number;
}

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Re-encrypts every stored envelope under the active key. Rows are walked in
 * id order in small batches; each row is one UPDATE (its own transaction)
 * guarded by the old envelope, so a concurrent write wins and the service
 * keeps running while the rotation proceeds.
 */
@Injectable()
export class VaultRotationService {
  private readonly logger = new Logger(VaultRotationService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly vault: SecretVault,
    @Inject(SEALED_COLUMNS_TOKEN)
    private readonly columns: readonly SealedColumn[] = SEALED_COLUMNS,
  ) {}

  async rotateAll(batchSize = 100): Promise<RotationReport> {
    let rotated = 0;
    let conflicts = 0;
    const failed: RotationFailure[] = [];
    for (const col of await this.presentColumns()) {
      const r = await this.rotateColumn(col, batchSize, failed);
      rotated += r.rotated;
      conflicts += r.conflicts;
    }
    const remaining = await this.countRemaining();
    const report = { activeKeyId: this.vault.activeKeyId, rotated, conflicts, failed, remaining };
    this.logger.log({ msg: 'vault rotation finished', ...report, failed: failed.length });
    return report;
  }

  /** Envelopes not yet under the active key, over all sealed columns. */
  async countRemaining(): Promise<number> {
    let total = 0;
    for (const col of await this.presentColumns()) {
      const rows = await this.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ${quote(col.table)}
         WHERE ${quote(col.column)} IS NOT NULL AND ${quote(col.keyIdColumn)} <> $1`,
        [this.vault.activeKeyId],
      );
      total += rows[0]?.n ?? 0;
    }
    return total;
  }

  // A context whose migration has not run yet has nothing to rotate.
  private async presentColumns(): Promise<SealedColumn[]> {
    const present: SealedColumn[] = [];
    for (const col of this.columns) {
      const rows = await this.dataSource.query<{ present: boolean }[]>(
        'SELECT to_regclass($1) IS NOT NULL AS present',
        [quote(col.table)],
      );
      if (rows[0]?.present === true) {
        present.push(col);
      }
    }
    return present;
  }

  private async rotateColumn(
    col: SealedColumn,
    batchSize: number,
    failed: RotationFailure[],
  ): Promise<{ rotated: number; conflicts: number }> {
    const active = this.vault.activeKeyId;
    let rotated = 0;
    let conflicts = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await this.dataSource.query<{ id: string; envelope: string }[]>(
        `SELECT id, ${quote(col.column)} AS envelope FROM ${quote(col.table)}
         WHERE ${quote(col.column)} IS NOT NULL AND ${quote(col.keyIdColumn)} <> $1 AND id > $2
         ORDER BY id LIMIT $3`,
        [active, after, batchSize],
      );
      for (const row of rows) {
        let next: string;
        try {
          next = this.vault.reencrypt(row.envelope, col.aad(row.id));
        } catch (error) {
          const code = error instanceof AppError ? error.code : 'Unknown';
          failed.push({ table: col.table, id: row.id, code });
          this.logger.error({
            msg: 'cannot re-encrypt secret',
            table: col.table,
            id: row.id,
            code,
          });
          continue;
        }
        // Optimistic: only if nobody replaced the envelope since we read it.
        const result = await this.dataSource.query<[unknown[], number]>(
          `UPDATE ${quote(col.table)} SET ${quote(col.column)} = $1, ${quote(col.keyIdColumn)} = $2
           WHERE id = $3 AND ${quote(col.column)} = $4`,
          [next, active, row.id, row.envelope],
        );
        if (result[1] === 1) {
          rotated++;
        } else {
          conflicts++;
        }
      }
      if (rows.length < batchSize) {
        break;
      }
      after = rows[rows.length - 1].id;
    }
    return { rotated, conflicts };
  }
}
