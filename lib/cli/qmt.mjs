#!/usr/bin/env node
// The `qmt` command. tsx loads the TypeScript sources directly, so `npm ci` needs no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every Node 20 process that its 2027 releases will need Node 22; Lambda runs Node 24,
// and on a terminal the notice would bury the report. Every other warning still prints.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const sdkNodeNotice = `${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning');
  if (!sdkNodeNotice) process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
