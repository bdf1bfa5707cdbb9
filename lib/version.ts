/**
 * qmt's version, for the User-Agent the venues see. The Lambda bundles get it from esbuild's `define`
 * (`infra/bundling.ts`), so they do not carry package.json (its dependency list and scripts) at all;
 * run from source (the CLI, tests), it is read from package.json.
 */
import { readFileSync } from 'node:fs';

declare const __QMT_VERSION__: string | undefined;

export const QMT_VERSION: string =
  typeof __QMT_VERSION__ === 'string' ? __QMT_VERSION__ : versionFromPackageJson();

function versionFromPackageJson(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = (manifest as { version?: unknown } | null)?.version;
  return typeof version === 'string' ? version : 'unknown';
}
