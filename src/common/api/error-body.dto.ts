import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldProblemDto {
  /** Offending field, e.g. `kubeconfig.users[0].user.exec` or `labels.team`. */
  field!: string;
  message!: string;
}

/** The one error body of the API. */
export class ErrorBodyDto {
  statusCode!: number;
  error!: string;
  message!: string;
  /** Stable error code, e.g. `ClusterNameTaken`. */
  code?: string;
  @ApiPropertyOptional({ type: [FieldProblemDto] })
  details?: FieldProblemDto[];
  @ApiProperty({ required: false })
  requestId?: string;
}
