import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC keeps decorator metadata, which NestJS dependency injection needs.
const plugins = [swc.vite({ module: { type: 'es6' } })];
const __dirname = dirname(fileURLToPath(import.meta.url));
const alias = {
  src: resolve(__dirname, 'src'),
  test: resolve(__dirname, 'test'),
  migrations: resolve(__dirname, 'migrations'),
};

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    globals: false,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'small', include: ['src/**/*.spec.ts', 'test/support/**/*.spec.ts'] },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'medium',
          include: ['test/medium/**/*.spec.ts'],
          globalSetup: ['test/medium/global-setup.ts'],
          setupFiles: ['test/medium/setup-one-query-per-client.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
