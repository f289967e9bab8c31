/**
 * The benchmark repository: R release paths of K objects each, cycling through
 * ConfigMap, Service and Deployment (Deployments become ready in the test
 * clusters after their `readyAfterMs`). `revision` changes the ConfigMaps and the
 * Deployments' image, so a new revision touches every release while its Services
 * stay as they were.
 */
export const BENCH_NAMESPACE = 'apps';

export function releaseName(i: number): string {
  return `bench-r${i}`;
}

export function releasePath(i: number): string {
  return `releases/r${i}`;
}

function object(release: number, index: number, revision: number): Record<string, unknown> {
  const name = `r${release}-o${index}`;
  switch (index % 3) {
    case 0:
      return {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { revision: String(revision), release: String(release), payload: 'x'.repeat(256) },
      };
    case 1:
      return {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      };
    default:
      return {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [{ name: 'app', image: `registry.example/app:1.0.${revision}` }],
            },
          },
        },
      };
  }
}

/** Every file of the repository at `revision` (1, 2, ...). */
export function benchFiles(
  releases: number,
  objectsPerRelease: number,
  revision: number,
): Record<string, string> {
  const files: Record<string, string> = {};
  for (let r = 0; r < releases; r++) {
    for (let o = 0; o < objectsPerRelease; o++) {
      files[`${releasePath(r)}/object-${o}.json`] = JSON.stringify(object(r, o, revision));
    }
  }
  return files;
}
