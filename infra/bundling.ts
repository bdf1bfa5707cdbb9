/**
 * How the Lambda handlers are bundled, in one place: `MarginThresholds` passes `LAMBDA_BUNDLING` to each
 * `NodejsFunction` (local esbuild, never Docker), and the cold-start bench (`test/bench/cold-start.ts`)
 * builds with `esbuildBuildOptions()`, the same settings through esbuild's API, so it measures what deploys.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The directory esbuild runs in (NodejsFunction's `projectRoot`): the repository root. */
const WORKING_DIR = fileURLToPath(new URL('..', import.meta.url));

/** esbuild's ESM output has no `require`; some CommonJS dependencies still call it. */
export const REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * Import paths esbuild replaces, relative to the repository root. `zod` becomes zod without its
 * translations of error messages (English stays; see `infra/zod-without-locales/index.ts`): about 264 KB
 * less in every bundle.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  zod: './infra/zod-without-locales/index.ts',
};

/**
 * Constants esbuild writes into the code: qmt's version (`lib/version.ts`), so no handler imports
 * package.json and no bundle carries its dependency list and scripts.
 */
export const BUNDLE_DEFINES: Readonly<Record<string, string>> = {
  __QMT_VERSION__: JSON.stringify(
    (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
      .version,
  ),
};

/** The settings both views share. */
const SETTINGS = {
  format: 'esm',
  minify: true,
  sourceMap: true,
  // The functions' runtime, nodejs24.x.
  target: 'node24',
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK too: the pinned version is the one tested, and tree-shaking keeps it small.
  externalModules: [] as string[],
  // Warnings and errors only: esbuild's per-bundle size summary would print on every synth and test run.
  logLevel: 'warning',
} as const;

/** `NodejsFunction` `bundling`: local esbuild with `SETTINGS` and `BUNDLE_ALIASES` (`--alias:zod=…`). */
export const LAMBDA_BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  minify: SETTINGS.minify,
  sourceMap: SETTINGS.sourceMap,
  target: SETTINGS.target,
  mainFields: [...SETTINGS.mainFields],
  banner: REQUIRE_BANNER,
  externalModules: SETTINGS.externalModules,
  define: { ...BUNDLE_DEFINES },
  logLevel: LogLevel.WARNING,
  esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`) },
};

/**
 * The esbuild API options equivalent to the command line NodejsFunction runs with `LAMBDA_BUNDLING`
 * (`--bundle --platform=node --format=esm --minify --sourcemap --target=node24 --main-fields=module,main
 * --log-level=warning --banner:js=… --define:__QMT_VERSION__=… --alias:zod=…`, in the repository root), less the entry
 * and output, which the caller adds.
 */
export function esbuildBuildOptions(): BuildOptions {
  return {
    absWorkingDir: WORKING_DIR,
    bundle: true,
    platform: 'node',
    format: SETTINGS.format,
    minify: SETTINGS.minify,
    sourcemap: SETTINGS.sourceMap,
    target: SETTINGS.target,
    mainFields: [...SETTINGS.mainFields],
    banner: { js: REQUIRE_BANNER },
    external: [...SETTINGS.externalModules],
    alias: { ...BUNDLE_ALIASES },
    define: { ...BUNDLE_DEFINES },
    logLevel: SETTINGS.logLevel,
  };
}
