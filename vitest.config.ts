import { defineConfig } from 'vitest/config';

// Two suites: fast unit tests (no processes, no network) and integration tests that start real parts
// (DynamoDB Local, loopback HTTP servers). `npm test` runs both.
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    coverage: { provider: 'v8', include: ['lib/**', 'lambdas/**', 'infra/**'] },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/integration/**'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
