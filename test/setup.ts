// Shared test setup, run before each test file.
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dirs.ts';

// A fixed Lambda-like environment so no test reaches real AWS by accident.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.POWERTOOLS_DEV ??= 'true';

// The AWS SDK's notice that its 2027 releases need Node 22 (once per worker: ~30 copies a run), filtered as
// cli/qmt.mjs filters it. Every other warning still prints.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const sdkNodeNotice = `${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning');
  if (!sdkNodeNotice) process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

afterAll(removeTempDirs);
