import { ConditionDto } from 'src/common/conditions/condition.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';
import {
  SOURCE_CREDENTIALS_KINDS,
  SOURCE_KINDS,
  type SourceCredentialsKind,
  type SourceKind,
} from 'src/modules/sources/source.types';
import { DNS_LABEL_PATTERN } from 'src/common/validation/names';

export const MIN_INTERVAL_SECONDS = 10;
export const MAX_INTERVAL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_INTERVAL_SECONDS = 300;
export const DEFAULT_TIMEOUT_SECONDS = 60;

const DNS_LABEL_MESSAGE =
  'must be a DNS-1123 label: lower case letters, digits and -, starting and ending with a letter or digit';

/** Exactly one of the fields: what a git source follows. */
export class SourceReferenceDto {
  /** Follow the tip of a branch. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  branch?: string;

  /** A fixed tag. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  tag?: string;

  /** The highest tag satisfying a semver range, e.g. `>=1.0.0 <2.0.0`. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  semver?: string;

  /** A commit pin: the full 40 (or 64) hex digit SHA. */
  @IsOptional()
  @IsString()
  @Matches(/^([0-9a-f]{40}|[0-9a-f]{64})$/, {
    message: 'commit must be a full 40 or 64 digit lower case hex SHA',
  })
  commit?: string;
}

/**
 * Write-only credentials. `basic`: username + password; `token`: token (optional
 * username); `ssh`: private key (PEM/OpenSSH) and the host keys it must match
 * (`known_hosts` format, required).
 */
export class SourceCredentialsDto {
  @IsIn(SOURCE_CREDENTIALS_KINDS)
  @ApiProperty({ enum: SOURCE_CREDENTIALS_KINDS })
  kind!: SourceCredentialsKind;

  @ValidateIf((o: SourceCredentialsDto) => o.kind === 'basic' || o.username !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  username?: string;

  @ValidateIf((o: SourceCredentialsDto) => o.kind === 'basic' || o.password !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  password?: string;

  @ValidateIf((o: SourceCredentialsDto) => o.kind === 'token' || o.token !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  token?: string;

  @ValidateIf((o: SourceCredentialsDto) => o.kind === 'ssh' || o.privateKey !== undefined)
  @IsString()
  @Matches(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, {
    message: 'privateKey must be a PEM or OpenSSH private key',
  })
  @MaxLength(16_384)
  privateKey?: string;

  @ValidateIf((o: SourceCredentialsDto) => o.kind === 'ssh' || o.knownHosts !== undefined)
  @IsString()
  @IsNotEmpty({ message: 'knownHosts is required for ssh credentials' })
  @MaxLength(65_536)
  knownHosts?: string;
}

/** Spec fields shared by create and update. */
export class SourceSpecFieldsDto {
  /** Git only; default `{ "branch": "main" }`. */
  @IsOptional()
  @ValidateNested()
  @Type(() => SourceReferenceDto)
  reference?: SourceReferenceDto;

  /** Seconds between fetches. */
  @IsOptional()
  @IsInt()
  @Min(MIN_INTERVAL_SECONDS)
  @Max(MAX_INTERVAL_SECONDS)
  intervalSeconds?: number;

  /** Upper bound of one fetch, in seconds. */
  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(3600)
  timeoutSeconds?: number;

  /** gitignore-syntax patterns of files kept out of the artifact (replaces the list). */
  @IsOptional()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  ignore?: string[];

  /**
   * PEM CA bundle for the repository's TLS certificate; null removes it. Git: trusted
   * instead of the system roots. Helm: trusted together with the system roots for the
   * index and every chart download (like Flux's `certSecretRef` `ca.crt`).
   */
  @IsOptional()
  @IsString()
  @MaxLength(65_536)
  @Matches(/-----BEGIN CERTIFICATE-----/, { message: 'caCertificate must be PEM certificates' })
  @ApiPropertyOptional({ nullable: true, type: String })
  caCertificate?: string | null;

  @IsOptional()
  @IsBoolean()
  suspend?: boolean;

  /** Replaces the credentials; null removes them; absent keeps them. Never returned. */
  @IsOptional()
  @ValidateNested()
  @Type(() => SourceCredentialsDto)
  @ApiPropertyOptional({ nullable: true, type: SourceCredentialsDto })
  credentials?: SourceCredentialsDto | null;
}

export class UpdateSourceDto extends SourceSpecFieldsDto {
  /** Repository URL: `https://…`, `ssh://…` or `user@host:path` (git); `https://…` (helm). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url?: string;
}

export class CreateSourceDto extends SourceSpecFieldsDto {
  /** DNS-1123 label, unique within the tenant, immutable. */
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: `name ${DNS_LABEL_MESSAGE}` })
  name!: string;

  @IsIn(SOURCE_KINDS)
  @ApiProperty({ enum: SOURCE_KINDS })
  kind!: SourceKind;

  /** Repository URL: `https://…`, `ssh://…` or `user@host:path` (git); `https://…` (helm). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url!: string;
}

export class SourceStatusDto {
  @ApiProperty({ type: [ConditionDto] })
  conditions!: ConditionDto[];
  /** Current revision, e.g. `main@sha1:<commit>`; kept when later fetches fail. */
  @ApiProperty({ nullable: true, type: String })
  revision!: string | null;
  @ApiProperty({ nullable: true, type: String })
  artifactDigest!: string | null;
  @ApiProperty({ nullable: true, type: Number })
  artifactSizeBytes!: number | null;
  /** Generation of the spec the status describes. */
  observedGeneration!: number;
  @ApiProperty({ nullable: true, type: Date })
  lastFetchAt!: Date | null;
  nextFetchAt!: Date;
  /** Consecutive failed fetches. */
  failureCount!: number;
}

export class SourceDto {
  id!: string;
  tenant!: string;
  name!: string;
  @ApiProperty({ enum: SOURCE_KINDS })
  kind!: SourceKind;
  url!: string;
  @ApiPropertyOptional({ type: SourceReferenceDto })
  reference?: SourceReferenceDto;
  intervalSeconds!: number;
  timeoutSeconds!: number;
  ignore!: string[];
  @ApiProperty({ nullable: true, type: String })
  caCertificate!: string | null;
  suspended!: boolean;
  /** Credentials are write-only: only their presence and kind are shown. */
  hasCredentials!: boolean;
  @ApiPropertyOptional({ enum: SOURCE_CREDENTIALS_KINDS })
  credentialsKind?: SourceCredentialsKind;
  generation!: number;
  status!: SourceStatusDto;
  createdAt!: Date;
  updatedAt!: Date;
}

export class SourceListDto extends PageDto {
  @ApiProperty({ type: [SourceDto] })
  items!: SourceDto[];
}

export class TenantParamDto {
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: `tenant ${DNS_LABEL_MESSAGE}` })
  tenant!: string;
}

export class SourceParamsDto extends TenantParamDto {
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: `name ${DNS_LABEL_MESSAGE}` })
  name!: string;
}

export class RefreshAcceptedDto {
  /** Always `true`: the fetch was scheduled. */
  accepted!: boolean;
  /** The revision current when the refresh was requested. */
  @ApiProperty({ nullable: true, type: String })
  revision!: string | null;
}
