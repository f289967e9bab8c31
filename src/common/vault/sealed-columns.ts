/**
 * Every column holding vault envelopes, so key rotation finds them all.
 * A context adding a secret column adds it here (and uses SecretVault with
 * the same associated data).
 */
export interface SealedColumn {
  readonly table: string;
  /** Column with the envelope (text, nullable allowed). */
  readonly column: string;
  /** Column with the id of the key the envelope was written with. */
  readonly keyIdColumn: string;
  /** Associated data of the row with this id (uuid primary key `id`). */
  readonly aad: (id: string) => string;
}

// The associated data of each sealed column lives here, not in its context,
// so the vault depends on nothing in a context and rotation still finds every
// envelope.
export const clusterKubeconfigAad = (clusterId: string): string =>
  `cluster:${clusterId}:kubeconfig`;

export const sourceCredentialsAad = (sourceId: string): string => `source:${sourceId}:credentials`;

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: 'cluster',
    column: 'kubeconfig_ciphertext',
    keyIdColumn: 'kubeconfig_key_id',
    aad: clusterKubeconfigAad,
  },
  {
    table: 'source',
    column: 'credentials_ciphertext',
    keyIdColumn: 'credentials_key_id',
    aad: sourceCredentialsAad,
  },
];
