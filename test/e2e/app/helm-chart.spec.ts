import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HELM_PATH } from 'test/support/tools';

const run = promisify(execFile);
const CHART = resolve(__dirname, '..', '..', '..', 'helm-chart');
const REQUIRED = [
  '--set',
  'database.existingSecret=gitfleet-db',
  '--set',
  'secrets.existingSecret=gitfleet-keys',
];

async function template(args: string[]): Promise<Record<string, any>[]> {
  const { stdout } = await run(HELM_PATH, [
    'template',
    'fleet',
    CHART,
    '--namespace',
    'gitfleet-system',
    ...args,
  ]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON())
    .filter((d) => d !== null);
}

describe('helm chart', () => {
  it('passes helm lint', async () => {
    const { stdout } = await run(HELM_PATH, ['lint', CHART, ...REQUIRED]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('renders a hardened deployment wired to the probes and secrets', async () => {
    const objects = await template(REQUIRED);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const container = deployment?.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(deployment?.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const databaseUrl = container.env.find((e: { name: string }) => e.name === 'DATABASE_URL');
    expect(databaseUrl.valueFrom.secretKeyRef.name).toBe('gitfleet-db');
    expect(container.envFrom[0].secretRef.name).toBe('gitfleet-keys');
    // Shutdown must finish before the kubelet's SIGKILL.
    const timeout = container.env.find((e: { name: string }) => e.name === 'SHUTDOWN_TIMEOUT_MS');
    expect(Number(timeout.value)).toBeLessThan(
      deployment?.spec.template.spec.terminationGracePeriodSeconds * 1000,
    );
    expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Service', 'ServiceAccount']);
  });

  it('bounds the V8 heap below the memory limit, unless told not to', async () => {
    const envOf = async (args: string[]): Promise<{ name: string; value?: string }[]> =>
      (await template([...REQUIRED, ...args])).find((o) => o.kind === 'Deployment')?.spec.template
        .spec.containers[0].env;
    const nodeOptions = (await envOf([])).find((e) => e.name === 'NODE_OPTIONS');
    expect(nodeOptions?.value).toBe('--max-old-space-size=640');
    const custom = await envOf(['--set', 'nodeMaxOldSpaceMiB=1536']);
    expect(custom.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe('--max-old-space-size=1536');
    const unset = await envOf(['--set', 'nodeMaxOldSpaceMiB=null']);
    expect(unset.find((e) => e.name === 'NODE_OPTIONS')).toBeUndefined();
  });

  it('adds read-only Cluster API RBAC only when enabled', async () => {
    const objects = await template([...REQUIRED, '--set', 'clusterApi.enabled=true']);
    const role = objects.find((o) => o.kind === 'ClusterRole');
    expect(role?.rules.flatMap((r: { verbs: string[] }) => r.verbs)).not.toContain('create');
    expect(objects.some((o) => o.kind === 'ClusterRoleBinding')).toBe(true);
  });

  it('refuses to render without a database secret', async () => {
    await expect(template(['--set', 'secrets.existingSecret=x'])).rejects.toThrow(
      /database.existingSecret is required/,
    );
  });
});
