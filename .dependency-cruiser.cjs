// @ts-check
// Architecture rules for gitfleet (docs/adr/0012-architecture-rules.md), run by `npm run lint`.
//
// Contexts (the first folder that owns a module):
//   src/tenants           tenants, members, role bindings, grants (src/tenants/grants is part of it)
//   src/clusters          cluster registry, connections, probes and Cluster API discovery
//                         (src/clusters/capi is part of it: it writes the same cluster table)
//   src/modules/<ctx>     one delivery context each: sources, rendering, releases, reconciler,
//                         events, identity, ...
//   src/common            plumbing only; imports no context
//   src/cli               command-line entry points
// src/main.ts, src/app.module.ts and src/app.factory.ts are the composition root and may
// import any context's module. test/** is not checked.

/** A regular expression matching any context folder; `$1` in a `to` rule refers to the `from` group. */
const CONTEXT = '^src/(tenants|clusters|cli|modules/[^/]+)/';

/**
 * The public face of a context: what another context may import. Everything else in a context
 * (repositories, entities, helpers, controllers, adapters) is internal.
 * - `*.module.ts`  Nest modules, to import the context
 * - `*.service.ts` the services the module exports (the only way in for behaviour)
 * - `*.types.ts`   plain domain types (entities never leave their context)
 * - `*.events.ts`  the domain events it publishes
 * - `*.errors.ts`  its error codes, for callers that translate or match them
 * - `*.port.ts`    the ports it declares for another context to implement
 * - `*.decorator.ts` route decorators (the audit decorator of events)
 * - `dto/**`, `*.mapper.ts` API DTOs and the mapper that builds them, only so one context's
 *                  response can embed another's (self-service embeds TenantDto and ClusterDto;
 *                  the OpenAPI document shares the schemas)
 * plus the few pure modules listed in PUBLISHED below.
 */
const PUBLIC_FACE = [
  '\\.module\\.ts$',
  '\\.service\\.ts$',
  '\\.types\\.ts$',
  '\\.events\\.ts$',
  '\\.errors\\.ts$',
  '\\.port\\.ts$',
  '\\.decorator\\.ts$',
  '\\.mapper\\.ts$',
  '/dto/',
];

/**
 * Pure modules (no state, no I/O) a context publishes besides its public face, because their
 * rules are the context's contract:
 * - the Cluster API hold (clusters) tells the reconciler to wait for a provisioning cluster;
 * - variable names and substitution (rendering) are validated by releases;
 * - the event insert (events) is composed into another context's statement, so a status and the
 *   events describing it commit together.
 */
const PUBLISHED = [
  '^src/clusters/capi/cluster-hold\\.ts$',
  '^src/modules/rendering/variables\\.ts$',
  // Flux Kustomization overlay fields (rendering): checked by the Release API, written by the render.
  '^src/modules/rendering/kustomize-overlay\\.ts$',
  '^src/modules/events/event-insert\\.sql\\.ts$',
  // Flux healthCheckExprs (releases): compiled by the API, evaluated by the reconciler.
  '^src/modules/releases/health-check-exprs\\.ts$',
];

/**
 * TEMPORARY allowances. Each names one importing file (its context captured as `$1`, so the
 * other rules still apply to it) and the one target it may still reach. Remove an entry when the
 * work it waits for lands; the rule then holds for that file as for any other.
 */
const PENDING = [
  // Onboarding connects through the reconciler's per-cluster connection pool and shares its
  // object helpers; the pool builds clients with the clusters context's factory. Until both
  // move behind exported services or into src/common/kube:
  ...[
    [
      'modules/reconciler',
      'cluster-api\\.pool\\.ts',
      '^src/clusters/connection/cluster-client\\.factory\\.ts$',
    ],
    [
      'modules/identity',
      'identity\\.module\\.ts',
      '^src/modules/reconciler/cluster-api\\.pool\\.ts$',
    ],
    [
      'modules/identity',
      'onboarding/(grant-onboarding\\.service|onboarding-drift)\\.ts',
      '^src/modules/reconciler/kube/kube-objects\\.ts$',
    ],
  ].map(([ctx, file, to]) => ({ ctx, file, to, until: 'kube plumbing in src/common' })),
];

/** The files with a pending allowance; the general rules skip them, the pending rules check them. */
const PENDING_FILES = [...new Set(PENDING.map(({ ctx, file }) => `^src/${ctx}/${file}$`))];

/** Targets a context may never reach in another context: its repositories, entities, internals. */
const crossContext = (/** @type {string[]} */ allowed) => ({
  path: CONTEXT,
  pathNot: ['^src/$1/', ...PUBLIC_FACE, ...PUBLISHED, ...allowed],
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cross-context-repository',
      severity: 'error',
      comment:
        "A repository is the only code that touches its table, and only its own context calls it. Use the owning context's exported service.",
      from: { path: CONTEXT, pathNot: PENDING_FILES },
      to: { path: '\\.repository\\.ts$', pathNot: ['^src/$1/', '^src/common/'] },
    },
    {
      name: 'no-cross-context-entity',
      severity: 'error',
      comment:
        "Entities never leave their context: use the owning context's plain types (<ctx>.types.ts). Only another entity may name one, to map a foreign key relation.",
      from: { path: CONTEXT, pathNot: ['/entities/', ...PENDING_FILES] },
      to: { path: '/entities/[^/]+\\.entity\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'no-cross-context-internals',
      severity: 'error',
      comment:
        "Another context's internals are off limits: import its public face (module, exported services, types, events, errors, ports, dto) instead.",
      from: { path: CONTEXT, pathNot: PENDING_FILES },
      // repositories and entities have their own rules above
      to: crossContext(['\\.repository\\.ts$', '/entities/']),
    },
    // The same three rules for the files with a pending allowance, less that one target.
    ...PENDING_FILES.map((file) => {
      const allowed = PENDING.filter((p) => `^src/${p.ctx}/${p.file}$` === file).map((p) => p.to);
      const ctx = PENDING.find((p) => `^src/${p.ctx}/${p.file}$` === file)?.ctx ?? '';
      return {
        name: 'no-cross-context-import-pending',
        comment: `Temporary allowance (see PENDING): ${file} may still import ${allowed.join(', ')}`,
        severity: /** @type {const} */ ('error'),
        // the context in a group, so that `$1` below is this file's own context
        from: { path: file.replace(`^src/${ctx}/`, `^src/(${ctx})/`) },
        to: crossContext(allowed),
      };
    }),
    {
      name: 'common-imports-no-context',
      severity: 'error',
      comment:
        'src/common is plumbing: it knows no context. A context that common needs (e.g. to resolve a tenant) implements a port declared in common.',
      from: { path: '^src/common/', pathNot: '^src/common/database/entities\\.ts$' },
      to: {
        path: ['^src/(tenants|clusters|cli|modules/[^/]+)/', '^src/(main|app\\.[a-z]+)\\.ts$'],
      },
    },
    {
      name: 'no-context-cycle',
      severity: 'error',
      comment:
        'Contexts depend on each other in one direction only. Break a cycle with a domain event or a port the lower context declares.',
      from: { path: CONTEXT },
      to: { circular: true, viaSomeNot: '^src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.spec\\.ts$', '^test/', '^dist'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
