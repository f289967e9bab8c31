import { afterAll, expect } from 'vitest';

// Two queries at once on one pg client is a bug (results interleave with a transaction's
// statements, and pg 9 will refuse it), not a deprecation to live with: a medium spec
// file during which pg warns about it fails.
const seen: string[] = [];
const onWarning = (warning: Error): void => {
  if (warning.message.includes('already executing a query')) {
    seen.push(warning.stack ?? warning.message);
  }
};
process.on('warning', onWarning);

afterAll(() => {
  process.off('warning', onWarning);
  expect(seen, 'pg: client.query() while the client was already executing a query').toEqual([]);
});
