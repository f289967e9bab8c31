import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from 'src/common/kube/kube-object';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { KUBECTL_PATH } from 'test/support/tools';

// A value read through substituteFrom from a Secret: it may reach the rendered
// object, nowhere else (logs, events, errors, diffs, metrics, API responses).
const CANARY = 'canary-Pa55w0rd-7f3e91';
const CANARY_NEXT = 'canary-rotated-0b2d44';

const SCRIPT = [
  '#!/bin/sh',
  'set -eu',
  'echo "region=${region}"',
  'echo "var=${VAR}"',
  'echo "home=${HOME:-/root}"',
  'echo "kept=$${VAR}"',
  'echo "pid=$$ args=$@ first=$1"',
  '',
].join('\n');

// A realistic Kustomize app: a generated ConfigMap holding a shell script, a
// Deployment mounting it (kustomize rewrites the hashed name), settings with
// Flux-style variables, and a Secret fed by a Secret variable.
const APP: Record<string, string> = {
  'app/kustomization.yaml': [
    'resources:',
    '  - deployment.yaml',
    '  - settings.yaml',
    '  - credentials.yaml',
    'configMapGenerator:',
    '  - name: scripts',
    '    files:',
    '      - entrypoint.sh',
    '',
  ].join('\n'),
  'app/entrypoint.sh': SCRIPT,
  'app/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: worker',
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels: {app: worker}',
    '  template:',
    '    metadata:',
    '      labels: {app: worker}',
    '    spec:',
    '      containers:',
    '        - name: worker',
    '          image: registry.example/worker:1.0.0',
    '          command: ["/bin/sh", "/scripts/entrypoint.sh"]',
    '          volumeMounts: [{name: scripts, mountPath: /scripts}]',
    '      volumes:',
    '        - name: scripts',
    '          configMap: {name: scripts}',
    '',
  ].join('\n'),
  'app/settings.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: settings',
    'data:',
    '  region: "${region}"',
    '  tier: "${tier}"',
    '  owner: "${owner}"',
    '  greeting: "${greeting:=hello}"',
    '  fallback: "${unset_var:-fallback}"',
    '  cluster: "${cluster_name}"',
    '  escaped: "$${region}"',
    '',
  ].join('\n'),
  'app/credentials.yaml': [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db-credentials',
    'type: Opaque',
    'stringData:',
    '  password: "${db_password}"',
    '',
  ].join('\n'),
};

const b64 = (s: string): string => Buffer.from(s).toString('base64');

// The test server keeps `stringData` as sent (a real API server folds it into `data`).
const secretValue = (
  secret: Record<string, unknown> | undefined,
  key: string,
): string | undefined => {
  const data = secret?.data as Record<string, string> | undefined;
  const stringData = secret?.stringData as Record<string, string> | undefined;
  const encoded = data?.[key];
  return encoded === undefined ? stringData?.[key] : Buffer.from(encoded, 'base64').toString();
};

describe('postBuild substitution: literal without it, Flux-style with it', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'lit', labels: { env: 'lit' } },
      { name: 'sub', labels: { env: 'sub', region: 'eu' } },
    ],
  });
  let repo: TestRepository;
  let expected: KubeObject[];
  let scratch: string;

  beforeAll(async () => {
    // What `kubectl kustomize` renders for the app, from the same files.
    scratch = mkdtempSync(join(tmpdir(), 'gitfleet-postbuild-'));
    for (const [path, text] of Object.entries(APP)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
    const out = execFileSync(KUBECTL_PATH, ['kustomize', join(scratch, 'app')], {
      encoding: 'utf8',
    });
    expected = parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
    expect(expected.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Secret',
    ]);

    await fleet.start();
    repo = await fleet.repos.createRepository('postbuild');
    await repo.commit(APP);
    await fleet.createGitSource('app', repo);
    fleet.cluster('sub').seed(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'vars-base', namespace: 'apps' },
        data: { region: 'eu-west-1', tier: 'from-configmap', owner: 'from-configmap' },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'vars-secret', namespace: 'apps' },
        type: 'Opaque',
        data: { db_password: b64(`${CANARY}\n`), tier: b64('from-secret') },
      },
    );
  });

  afterAll(async () => {
    await fleet.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const live = (cluster: string, kind: string, apiVersion: string, name: string) =>
    fleet
      .cluster(cluster)
      .listObjects(apiVersion, kind, 'apps')
      .find((o) => o.metadata.name === name);
  const expectedOf = (kind: string, prefix: string): KubeObject => {
    const o = expected.find((e) => e.kind === kind && (e.metadata.name ?? '').startsWith(prefix));
    if (o === undefined) {
      throw new Error(`kubectl kustomize rendered no ${kind} ${prefix}`);
    }
    return o;
  };

  it('applies a release without postBuild literally, field by field as kubectl kustomize renders it', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'literal',
      source: 'app',
      path: 'app',
      targetNamespace: 'apps',
      clusterNames: ['lit'],
      timeoutSeconds: 30,
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.postBuild).toBeNull();
    await fleet.waitForTargets('literal', (t) => t.ready === 'True', 1);

    const scripts = expectedOf('ConfigMap', 'scripts-');
    const liveScripts = live('lit', 'ConfigMap', 'v1', scripts.metadata.name ?? '');
    expect(liveScripts, 'the hashed generator name').toBeDefined();
    expect(liveScripts?.data).toEqual(scripts.data);
    expect(Object.keys(liveScripts?.data ?? {})).toEqual(['entrypoint.sh']);
    expect((liveScripts?.data as Record<string, string>)['entrypoint.sh']).toBe(SCRIPT);

    const settings = expectedOf('ConfigMap', 'settings');
    const liveSettings = live('lit', 'ConfigMap', 'v1', 'settings');
    for (const [key, value] of Object.entries(settings.data as Record<string, string>)) {
      expect((liveSettings?.data as Record<string, string>)[key], key).toBe(value);
    }
    expect((liveSettings?.data as Record<string, string>).escaped).toBe('$${region}');

    const deployment = expectedOf('Deployment', 'worker');
    const liveDeployment = live('lit', 'Deployment', 'apps/v1', 'worker');
    expect(liveDeployment?.spec).toMatchObject(deployment.spec as Record<string, unknown>);

    const secret = live('lit', 'Secret', 'v1', 'db-credentials');
    expect(secretValue(secret, 'password')).toBe('${db_password}');
  });

  it('with postBuild expands inline, ConfigMap, Secret, built-in and default forms as Flux does', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'substituted',
      source: 'app',
      path: 'app',
      targetNamespace: 'apps',
      clusterNames: ['sub'],
      timeoutSeconds: 30,
      postBuild: {
        substitute: { owner: 'from-inline' },
        substituteFrom: [
          { kind: 'ConfigMap', name: 'vars-base' },
          { kind: 'Secret', name: 'vars-secret' },
          { kind: 'ConfigMap', name: 'vars-absent', optional: true },
        ],
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.postBuild).toEqual({
      substitute: { owner: 'from-inline' },
      substituteFrom: [
        { kind: 'ConfigMap', name: 'vars-base' },
        { kind: 'Secret', name: 'vars-secret' },
        { kind: 'ConfigMap', name: 'vars-absent', optional: true },
      ],
    });
    await fleet.waitForTargets('substituted', (t) => t.ready === 'True', 1);

    expect(live('sub', 'ConfigMap', 'v1', 'settings')?.data).toEqual({
      region: 'eu-west-1',
      // The later substituteFrom entry (the Secret) overrides the ConfigMap.
      tier: 'from-secret',
      // Inline substitute wins over substituteFrom.
      owner: 'from-inline',
      greeting: 'hello',
      fallback: 'fallback',
      cluster: 'sub',
      escaped: '${region}',
    });
    // The generated name was hashed before substitution, as in Flux.
    const scripts = expectedOf('ConfigMap', 'scripts-');
    const script = (live('sub', 'ConfigMap', 'v1', scripts.metadata.name ?? '')?.data ??
      {}) as Record<string, string>;
    expect(script['entrypoint.sh']).toBe(
      [
        '#!/bin/sh',
        'set -eu',
        'echo "region=eu-west-1"',
        // Undefined without a default: empty, as Flux without StrictPostBuildSubstitutions.
        'echo "var="',
        'echo "home=/root"',
        'echo "kept=${VAR}"',
        'echo "pid=$ args=$@ first=$1"',
        '',
      ].join('\n'),
    );
    // Read in the target namespace as the tenant's service account, not as gitfleet.
    const reads = fleet
      .cluster('sub')
      .requestLog.filter((e) => e.verb === 'get' && e.name === 'vars-secret');
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      expect(r).toMatchObject({
        resource: 'secrets',
        namespace: 'apps',
        impersonatedUser: `system:serviceaccount:apps:${fleet.serviceAccountName}`,
      });
    }
    // Secret values lose their newline, as in Flux.
    expect(secretValue(live('sub', 'Secret', 'v1', 'db-credentials'), 'password')).toBe(CANARY);
  });

  it('picks up a changed ConfigMap value on the next reconcile, without a new revision', async () => {
    fleet.cluster('sub').seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'vars-base', namespace: 'apps' },
      data: { region: 'eu-central-1', tier: 'from-configmap', owner: 'from-configmap' },
    });
    const before = (await fleet.targets('substituted'))[0];
    expect(
      (await fleet.api('POST', `/tenants/${fleet.tenant}/releases/substituted/reconcile`)).status,
    ).toBe(202);
    await fleet.eventually('the new region applied', () =>
      (live('sub', 'ConfigMap', 'v1', 'settings')?.data as Record<string, string> | undefined)
        ?.region === 'eu-central-1'
        ? Promise.resolve(true)
        : Promise.resolve(undefined),
    );
    const after = (await fleet.targets('substituted'))[0];
    expect(after.appliedRevision).toBe(before.appliedRevision);
  });

  it('never shows a Secret value in a diff, target status, events, logs or metrics', async () => {
    // A rotated Secret value makes the plan change the rendered Secret.
    fleet.cluster('sub').seed({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'vars-secret', namespace: 'apps' },
      type: 'Opaque',
      data: { db_password: b64(CANARY_NEXT), tier: b64('from-secret') },
    });
    const diff = await fleet.api(
      'GET',
      `/tenants/${fleet.tenant}/releases/substituted/diff?cluster=sub`,
    );
    expect(diff.status, diff.text).toBe(200);
    expect(diff.text).toContain('db-credentials');
    // A missing required object fails the run naming it, while the Secret was read.
    const broken = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'broken',
      source: 'app',
      path: 'app',
      targetNamespace: 'apps',
      clusterNames: ['sub'],
      postBuild: {
        substituteFrom: [
          { kind: 'Secret', name: 'vars-secret' },
          { kind: 'Secret', name: 'vars-missing' },
        ],
      },
    });
    expect(broken.status, broken.text).toBe(201);
    const [target] = await fleet.waitForTargets(
      'broken',
      (t) => t.conditions?.some((c: any) => c.reason === 'SubstituteFromNotFound'),
      1,
    );
    const ready = target.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'SubstituteFromNotFound' });
    expect(ready.message).toContain('Secret/vars-missing in namespace apps not found');

    const seen = [
      diff.text,
      JSON.stringify(await fleet.targets('substituted')),
      JSON.stringify(await fleet.targets('broken')),
      (await fleet.api('GET', `/tenants/${fleet.tenant}/events`)).text,
      (await fleet.api('GET', `/tenants/${fleet.tenant}/releases/substituted`)).text,
      await (await fetch(`${fleet.app.baseUrl}/metrics`)).text(),
      fleet.app.output(),
    ].join('\n');
    for (const value of [CANARY, CANARY_NEXT, b64(CANARY), b64(CANARY_NEXT)]) {
      expect(seen).not.toContain(value);
    }
    expect((await fleet.api('DELETE', `/tenants/${fleet.tenant}/releases/broken`)).status).toBe(
      202,
    );
  });

  it('refuses bad postBuild input with 400 naming the field, and maps the deprecated variables', async () => {
    const base = {
      source: 'app',
      path: 'app',
      targetNamespace: 'apps',
      clusterNames: ['lit'],
      suspend: true,
    };
    const post = (body: Record<string, unknown>) =>
      fleet.api('POST', `/tenants/${fleet.tenant}/releases`, { ...base, ...body });

    const badName = await post({ name: 'bad1', postBuild: { substitute: { 'my-var': 'x' } } });
    expect(badName.status).toBe(400);
    expect(badName.body.details).toEqual([
      {
        field: 'postBuild.substitute',
        message: 'variable name "my-var" must match [A-Za-z_][A-Za-z0-9_]*',
      },
    ]);
    const builtIn = await post({ name: 'bad2', postBuild: { substitute: { cluster_name: 'x' } } });
    expect(builtIn.status).toBe(400);
    expect(builtIn.text).toContain('reserved for a built-in variable');
    const badKind = await post({
      name: 'bad3',
      postBuild: { substituteFrom: [{ kind: 'Pod', name: 'x' }] },
    });
    expect(badKind.status).toBe(400);
    expect(badKind.text).toContain('kind');
    const both = await post({
      name: 'bad4',
      variables: { a: '1' },
      postBuild: { substitute: { b: '2' } },
    });
    expect(both.status).toBe(400);
    expect(both.text).toContain('deprecated alias of postBuild.substitute');

    const alias = await post({ name: 'alias', variables: { image_tag: '1.2.3' } });
    expect(alias.status, alias.text).toBe(201);
    expect(alias.body.postBuild).toEqual({ substitute: { image_tag: '1.2.3' } });
    expect(alias.body.variables).toEqual({ image_tag: '1.2.3' });
    expect((await fleet.api('DELETE', `/tenants/${fleet.tenant}/releases/alias`)).status).toBe(202);
  });
});
