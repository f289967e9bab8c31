import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { DNS_LABEL_PATTERN } from 'src/common/validation/names';

const ROLES = ['owner', 'editor', 'viewer'] as const;

export class CreateApiTokenDto {
  /** DNS-1123 label, unique in the tenant. */
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'name must be a DNS-1123 label' })
  name!: string;

  /** At most the creator's own role. */
  @IsIn(ROLES)
  @ApiProperty({ enum: ROLES })
  role!: 'owner' | 'editor' | 'viewer';

  /** Lifetime in days (1-365). */
  @IsInt()
  @Min(1)
  @Max(365)
  expiresInDays!: number;
}

export class ApiTokenDto {
  name!: string;
  @ApiProperty({ enum: ROLES })
  role!: 'owner' | 'editor' | 'viewer';
  /** First characters of the token, to recognise it; never the token. */
  tokenPrefix!: string;
  createdBy!: string;
  createdAt!: Date;
  expiresAt!: Date;
  @ApiProperty({ nullable: true, type: Date })
  lastUsedAt!: Date | null;
}

export class CreatedApiTokenDto extends ApiTokenDto {
  /** The bearer token. Shown only in this response: store it now. */
  token!: string;
}

export class ApiTokenListDto {
  @ApiProperty({ type: [ApiTokenDto] })
  items!: ApiTokenDto[];
}

export class ApiTokenParamsDto {
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'tenant must be a DNS-1123 label' })
  tenant!: string;

  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'name must be a DNS-1123 label' })
  name!: string;
}
