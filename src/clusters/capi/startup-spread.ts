/**
 * Delays for registering `count` clusters found together at start-up: evenly
 * spread over `spreadMs` with a little jitter, so their first reconciles do
 * not all start at once. One cluster starts at once.
 */
export function startupDelays(
  count: number,
  spreadMs: number,
  random: () => number = Math.random,
): number[] {
  if (count <= 1 || spreadMs <= 0) {
    return Array.from({ length: count }, () => 0);
  }
  const step = spreadMs / count;
  return Array.from({ length: count }, (_, i) =>
    Math.floor(i * step + random() * Math.min(step, 250)),
  );
}
