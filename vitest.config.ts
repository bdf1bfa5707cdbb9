import { defineConfig } from 'vitest/config';

// Four suites. `npm test` runs `unit` (no processes, no network) and `integration` (starts real parts:
// DynamoDB Local, loopback HTTP servers), which need only the repository. `npm run test:data` runs `data` and
// `data-integration`: the tests under test/data, which read the real price files in ../shared beside the
// checkout.
const INTEGRATION = { testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false };

export default defineConfig({
  test: {
    // Timeouts only catch a hang: no test is timed (speed is measured in `npm run bench`), and property tests
    // of a few seconds run several times longer on a shared, loaded 2-core machine.
    testTimeout: 30_000,
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    coverage: { provider: 'v8', include: ['lib/**', 'lambdas/**', 'infra/**'] },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/data/**'],
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...INTEGRATION },
      },
      {
        extends: true,
        test: {
          name: 'data',
          include: ['test/data/**/*.test.ts'],
          exclude: ['test/data/integration/**'],
          globalSetup: ['test/global-setup.ts', 'test/data/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'data-integration',
          include: ['test/data/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/data/global-setup.ts'],
          ...INTEGRATION,
        },
      },
    ],
  },
});
