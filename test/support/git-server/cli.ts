import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GitHttpServer } from 'test/support/git-server/git-http-server';

/**
 * `npm run git-server -- --root DIR [--port N]`: serves the bare repositories under DIR
 * (`DIR/team-a/config.git` → `http://127.0.0.1:N/team-a/config.git`) over plain smart HTTP
 * until SIGINT/SIGTERM. For trying gitfleet locally (it needs SOURCE_ALLOW_HTTP=true).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', default: '.git-server' },
      port: { type: 'string', default: '8081' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a TCP port, got ${values.port}`);
  }
  const root = resolve(values.root);
  const server = await GitHttpServer.start({ root, tls: false, port });
  process.stdout.write(`git-server: serving ${root} at ${server.baseUrl}\n`);
  const shutdown = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`git-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
