import type { Condition, ConditionStatus } from 'src/common/conditions/conditions';
import type { GitReference } from 'src/modules/sources/git/git-reference';
import type { GitCredentials } from 'src/modules/sources/git/git-session';

export const SOURCE_KINDS = ['git', 'helm'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** What a git Source follows (the fetch engine's reference type). */
export type SourceReference = GitReference;

/** Plaintext credentials; only ever held in memory during a request or a fetch. */
export type SourceCredentials = GitCredentials;
export const SOURCE_CREDENTIALS_KINDS = ['basic', 'token', 'ssh'] as const;
export type SourceCredentialsKind = (typeof SOURCE_CREDENTIALS_KINDS)[number];

export type SourceConditionType = 'Ready' | 'FetchFailed';
export type { ConditionStatus };

/** A Kubernetes-style condition. The message never contains credentials. */
/** A source's condition, set through the one setter in `common/conditions`. */
export type SourceCondition = Condition<SourceConditionType>;

/** Condition reasons of the Source's own making (fetch failures use the fetch error codes). */
export const SourceReason = {
  Succeeded: 'Succeeded',
  Progressing: 'Progressing',
  Suspended: 'Suspended',
  UnsupportedKind: 'UnsupportedKind',
  CredentialsUnavailable: 'CredentialsUnavailable',
  InternalError: 'InternalError',
} as const;

/** The desired state of a Source, as given through the API. */
export interface SourceSpec {
  readonly kind: SourceKind;
  readonly url: string;
  readonly reference: SourceReference | null;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly ignore: readonly string[];
  readonly caCertificate: string | null;
  readonly suspended: boolean;
}

export interface NewSource extends SourceSpec {
  readonly name: string;
  readonly credentials: SourceCredentials | null;
}

/** Fields of an update; `credentials: null` removes them, undefined keeps them. */
export type SourcePatch = Partial<Omit<SourceSpec, 'kind'>> & {
  readonly credentials?: SourceCredentials | null;
};

export interface SourceStatus {
  readonly conditions: readonly SourceCondition[];
  readonly revision: string | null;
  readonly artifactDigest: string | null;
  readonly artifactSizeBytes: number | null;
  readonly observedGeneration: number;
  readonly lastFetchAt: Date | null;
  readonly nextFetchAt: Date;
  readonly failureCount: number;
}

/** A Source as the rest of the application sees it: never with credentials. */
export interface Source extends SourceSpec {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly credentialsKind: SourceCredentialsKind | null;
  readonly generation: number;
  readonly status: SourceStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A Source claimed by this replica for one fetch. */
export interface ClaimedSource extends Source {
  readonly fencingToken: bigint;
  readonly leaseOwner: string;
  /** Envelope, decrypted by the worker only for the duration of the fetch. */
  readonly credentialsCiphertext: string | null;
}

/** What a fetch attempt leaves behind; written only under the matching fencing token. */
export type FetchOutcome =
  | {
      readonly kind: 'success';
      readonly revision: string;
      readonly artifactDigest: string;
      readonly artifactSizeBytes: number;
      readonly conditions: SourceCondition[];
      readonly nextFetchInSeconds: number;
    }
  | {
      readonly kind: 'failure';
      readonly conditions: SourceCondition[];
      readonly nextFetchInSeconds: number;
    };

export { sourceCredentialsAad } from 'src/common/vault/sealed-columns';
