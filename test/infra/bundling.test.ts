/**
 * The one test that bundles for real: esbuild (locally, never Docker) builds each handler as the stack
 * deploys it, and each bundle stays small. It needs the handlers under lambdas/; until they exist it fails
 * saying so, rather than passing by skipping.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createQmtApp } from '../../infra/app.ts';
import { HANDLER_ENTRIES, type QmtFunctionName, REPO_ROOT } from '../../infra/margin-thresholds.ts';
import { CDK_CONTEXT, logicalId } from './support.ts';

const MAX_BUNDLE_BYTES = 3 * 1024 * 1024;
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  description: string;
  scripts: { test: string };
  devDependencies: Record<string, string>;
};
const outdir = mkdtempSync(join(tmpdir(), 'qmt-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('handler bundles', { timeout: 300_000 }, () => {
  it('bundles every handler with local esbuild as ESM under 3 MB, the AWS SDK included, package.json left out', () => {
    // Prepare
    const missing = Object.values(HANDLER_ENTRIES).filter((entry) => !existsSync(join(REPO_ROOT, entry)));
    if (missing.length > 0) {
      throw new Error(
        `cannot bundle: ${missing.join(', ')} not written yet. This test bundles the real handlers and is never skipped; run it again once they exist.`,
      );
    }

    // Act: CDK announces each asset on stderr ("Bundling asset qmt-dev/Qmt/Recalibrate/Code/Stage..."); this
    // test reports the sizes itself, so the announcements are kept out of the run's output.
    const stderr = process.stderr.write.bind(process.stderr);
    const announced: string[] = [];
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
      if (!String(chunk).startsWith('Bundling asset ')) return stderr(chunk, ...(rest as [BufferEncoding]));
      announced.push(String(chunk));
      return true;
    });
    const { app, stack } = createQmtApp({ outdir, context: { ...CDK_CONTEXT, env: 'dev' } });
    let assembly: ReturnType<typeof app.synth>;
    try {
      assembly = app.synth();
    } finally {
      quiet.mockRestore();
    }

    // Assess
    const template = assembly.getStackArtifact(stack.artifactId).template as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key: string } } }>;
    };
    const qmt = stack.marginThresholds;
    const byName: Record<QmtFunctionName, unknown> = {
      recalibrate: qmt.recalibrateFunction,
      sweepCoordinator: qmt.sweepCoordinatorFunction,
      sweepWorker: qmt.sweepWorkerFunction,
      marketWatch: qmt.marketWatchFunction,
      stressRun: qmt.stressRunFunction,
    };
    const sizes: Record<string, string> = {};
    for (const [name, fn] of Object.entries(byName)) {
      const s3Key = template.Resources[logicalId(fn as never)]?.Properties.Code?.S3Key ?? '';
      const assetDir = join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
      const bundle = join(assetDir, 'index.mjs');
      const bytes = statSync(bundle).size;
      const text = readFileSync(bundle, 'utf8');
      sizes[name] =
        `${(bytes / 1024).toFixed(0)} KiB (source map ${(statSync(`${bundle}.map`).size / 1024).toFixed(0)} KiB)`;

      expect(bytes, name).toBeLessThan(MAX_BUNDLE_BYTES);
      expect(
        text.startsWith(
          "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        ),
        name,
      ).toBe(true);
      expect(text, name).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // Nothing left to load at run time from node_modules: the SDK and Powertools are inside the bundle.
      expect(text, name).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(text, name).not.toMatch(/from\s*["']@aws-lambda-powertools\//);
      // qmt's package.json is not shipped: only its version, injected at bundle time for the venues'
      // User-Agent. (The AWS SDK clients still carry their own, public, package.json for theirs.)
      expect(text, name).not.toContain(packageJson.description);
      for (const devDependency of Object.keys(packageJson.devDependencies).filter(
        (d) => !d.startsWith('@types/'),
      ))
        expect(text, name).not.toContain(
          `"${devDependency}":"${packageJson.devDependencies[devDependency]}"`,
        );
      expect(text, name).not.toContain(packageJson.scripts.test);
      expect(text, name).toContain(`="${packageJson.version}"`);
      expect(text, name).not.toContain('../package.json'); // the from-source fallback is not bundled
      // zod without its locales (infra/zod-without-locales): English messages only, no German.
      expect(text.includes('Invalid input: expected'), `${name} has zod's English messages`).toBe(true);
      expect(text.includes('Eingabe: erwartet'), `${name} has zod's German messages`).toBe(false);
    }
    expect(announced).toHaveLength(Object.keys(byName).length);
    console.info('qmt handler bundles:', sizes);
  });
});
