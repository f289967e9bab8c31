import { CAPI_CLUSTER_NAME_LABEL, CAPI_SECRET_TYPE } from './capi-cluster';

/** The result of checking a `<cluster>-kubeconfig` Secret; reasons never quote Secret data. */
export type SecretCheck =
  | { readonly ok: true; readonly kubeconfig: string; readonly resourceVersion: string }
  | { readonly ok: false; readonly reason: string; readonly message: string };

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

export const kubeconfigSecretName = (clusterName: string): string => `${clusterName}-kubeconfig`;

/**
 * Cluster API writes the admin kubeconfig to `<cluster>-kubeconfig` with type
 * `cluster.x-k8s.io/secret`, label `cluster.x-k8s.io/cluster-name: <cluster>`
 * and the bytes under `data.value`. A Secret of that name without the type
 * and label was not written by Cluster API (anyone who can create Secrets in
 * the namespace could plant one), so it is ignored.
 */
export function checkKubeconfigSecret(secret: unknown, clusterName: string): SecretCheck {
  const name = kubeconfigSecretName(clusterName);
  if (!isDict(secret) || !isDict(secret.metadata)) {
    return { ok: false, reason: 'KubeconfigSecretInvalid', message: `Secret ${name} is malformed` };
  }
  const type = typeof secret.type === 'string' ? secret.type : '';
  if (type !== CAPI_SECRET_TYPE) {
    return {
      ok: false,
      reason: 'KubeconfigSecretIgnored',
      message: `Secret ${name} ignored: its type is "${type.slice(0, 100)}", not ${CAPI_SECRET_TYPE}`,
    };
  }
  const labels = isDict(secret.metadata.labels) ? secret.metadata.labels : {};
  if (labels[CAPI_CLUSTER_NAME_LABEL] !== clusterName) {
    return {
      ok: false,
      reason: 'KubeconfigSecretIgnored',
      message: `Secret ${name} ignored: its label ${CAPI_CLUSTER_NAME_LABEL} does not name the Cluster ${clusterName}`,
    };
  }
  const data = isDict(secret.data) ? secret.data : {};
  const value = data.value;
  if (typeof value !== 'string' || value === '') {
    return {
      ok: false,
      reason: 'KubeconfigSecretInvalid',
      message: `Secret ${name} has no data.value`,
    };
  }
  const resourceVersion =
    typeof secret.metadata.resourceVersion === 'string' ? secret.metadata.resourceVersion : '';
  return { ok: true, kubeconfig: Buffer.from(value, 'base64').toString('utf8'), resourceVersion };
}
