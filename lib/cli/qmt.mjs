#!/usr/bin/env node
// The `qmt` command. tsx loads the TypeScript sources directly, so `npm ci` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
