import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { TargetCounts, TargetResult } from './target.entity';
import { TargetEntity } from './target.entity';

/** One reconcile of a target; the newest few per target are kept as history. */
@Entity({ name: 'target_run' })
@Index('IDX_target_run_target_started', ['targetId', 'startedAt'])
export class TargetRunEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_target_run' })
  id!: string;

  @Column({ type: 'uuid', name: 'target_id' })
  targetId!: string;

  @ManyToOne(() => TargetEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'target_id', foreignKeyConstraintName: 'FK_target_run_target' })
  target?: TargetEntity;

  @Column({ type: 'timestamptz', name: 'started_at' })
  startedAt!: Date;

  @Column({ type: 'integer', name: 'duration_ms' })
  durationMs!: number;

  @Column({ type: 'text', nullable: true })
  revision!: string | null;

  @Column({ type: 'text' })
  result!: TargetResult;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'text', default: '' })
  message!: string;

  @Column({ type: 'jsonb', nullable: true })
  counts!: TargetCounts | null;

  /** Objects corrected because someone else changed them: references and field paths only. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  drift!: { object: string; fields: string[] }[];
}
