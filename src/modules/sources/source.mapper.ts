import { CommonError } from 'src/common/errors/app-error';
import {
  type CreateSourceDto,
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  type SourceCredentialsDto,
  type SourceDto,
  type SourceReferenceDto,
  type UpdateSourceDto,
} from 'src/modules/sources/dto/source.dto';
import type {
  NewSource,
  Source,
  SourceCredentials,
  SourcePatch,
  SourceReference,
} from 'src/modules/sources/source.types';

const invalid = (field: string, message: string): Error =>
  new CommonError('ValidationFailed', `Validation failed: ${field}: ${message}`, [
    { field, message },
  ]);

/** `{branch}` | `{tag}` | `{semver}` | `{commit}` → the fetch engine's reference. */
export function referenceFromDto(dto: SourceReferenceDto): SourceReference {
  const set = (['branch', 'tag', 'semver', 'commit'] as const).filter(
    (key) => dto[key] !== undefined,
  );
  if (set.length !== 1) {
    throw invalid('reference', 'set exactly one of branch, tag, semver, commit');
  }
  if (dto.branch !== undefined) {
    return { kind: 'branch', name: dto.branch };
  }
  if (dto.tag !== undefined) {
    return { kind: 'tag', name: dto.tag };
  }
  if (dto.semver !== undefined) {
    return { kind: 'semver', range: dto.semver };
  }
  return { kind: 'commit', sha: dto.commit! };
}

export function referenceToDto(reference: SourceReference): SourceReferenceDto {
  switch (reference.kind) {
    case 'branch':
      return { branch: reference.name };
    case 'tag':
      return { tag: reference.name };
    case 'semver':
      return { semver: reference.range };
    case 'commit':
      return { commit: reference.sha };
  }
}

export function credentialsFromDto(dto: SourceCredentialsDto): SourceCredentials {
  switch (dto.kind) {
    case 'basic':
      return { kind: 'basic', username: dto.username ?? '', password: dto.password ?? '' };
    case 'token':
      return {
        kind: 'token',
        token: dto.token ?? '',
        ...(dto.username === undefined ? {} : { username: dto.username }),
      };
    case 'ssh':
      return {
        kind: 'ssh',
        knownHosts: dto.knownHosts ?? '',
        ...(dto.privateKey === undefined ? {} : { privateKey: dto.privateKey }),
      };
  }
}

export function newSourceFromDto(dto: CreateSourceDto): NewSource {
  if (dto.kind === 'helm' && dto.reference !== undefined) {
    throw invalid('reference', 'helm sources have no reference; charts are chosen by releases');
  }
  return {
    name: dto.name,
    kind: dto.kind,
    url: dto.url,
    reference:
      dto.kind === 'git'
        ? dto.reference === undefined
          ? { kind: 'branch', name: 'main' }
          : referenceFromDto(dto.reference)
        : null,
    intervalSeconds: dto.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
    timeoutSeconds: dto.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    ignore: dto.ignore ?? [],
    caCertificate: dto.caCertificate ?? null,
    suspended: dto.suspend ?? false,
    credentials:
      dto.credentials === undefined || dto.credentials === null
        ? null
        : credentialsFromDto(dto.credentials),
  };
}

export function sourcePatchFromDto(dto: UpdateSourceDto): SourcePatch {
  return {
    ...(dto.url === undefined ? {} : { url: dto.url }),
    ...(dto.reference === undefined ? {} : { reference: referenceFromDto(dto.reference) }),
    ...(dto.intervalSeconds === undefined ? {} : { intervalSeconds: dto.intervalSeconds }),
    ...(dto.timeoutSeconds === undefined ? {} : { timeoutSeconds: dto.timeoutSeconds }),
    ...(dto.ignore === undefined ? {} : { ignore: dto.ignore }),
    ...(dto.caCertificate === undefined ? {} : { caCertificate: dto.caCertificate }),
    ...(dto.suspend === undefined ? {} : { suspended: dto.suspend }),
    ...(dto.credentials === undefined
      ? {}
      : { credentials: dto.credentials === null ? null : credentialsFromDto(dto.credentials) }),
  };
}

/** The API view of a source: credentials only as presence and kind. */
export function toSourceDto(source: Source, tenantName: string): SourceDto {
  return {
    id: source.id,
    tenant: tenantName,
    name: source.name,
    kind: source.kind,
    url: source.url,
    ...(source.reference === null ? {} : { reference: referenceToDto(source.reference) }),
    intervalSeconds: source.intervalSeconds,
    timeoutSeconds: source.timeoutSeconds,
    ignore: [...source.ignore],
    caCertificate: source.caCertificate,
    suspended: source.suspended,
    hasCredentials: source.credentialsKind !== null,
    ...(source.credentialsKind === null ? {} : { credentialsKind: source.credentialsKind }),
    generation: source.generation,
    status: {
      conditions: source.status.conditions.map((c) => ({ ...c })),
      revision: source.status.revision,
      artifactDigest: source.status.artifactDigest,
      artifactSizeBytes: source.status.artifactSizeBytes,
      observedGeneration: source.status.observedGeneration,
      lastFetchAt: source.status.lastFetchAt,
      nextFetchAt: source.status.nextFetchAt,
      failureCount: source.status.failureCount,
    },
    createdAt: source.createdAt,
    updatedAt: source.updatedAt,
  };
}
