/**
 * The test suite itself: `npm test` needs nothing outside the repository, and a run stays quiet and clean
 * (no AWS SDK notice per worker, no esbuild summary per bundle, no temporary folder left behind).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel } from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { esbuildBuildOptions, LAMBDA_BUNDLING } from '../infra/bundling.ts';
import isolateTmp from './global-setup.ts';
import { removeTempDirs, tempDir } from './temp-dirs.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const TEST_DIR = import.meta.dirname;

describe('npm test on a fresh clone', () => {
  it('no test outside test/data (and the benchmarks) reads the price files beside the checkout', () => {
    // Prepare: every TypeScript file of the unit and integration suites
    const files = readdirSync(TEST_DIR, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => !file.startsWith('data/') && !file.startsWith('bench/'));

    // Act: a path into ../shared, or an import of the data suite's helper that resolves it
    const readers = files.filter((file) =>
      /shared\/(data|reference)|from '[^']*data\/shared\.ts'/.test(
        readFileSync(join(TEST_DIR, file), 'utf8'),
      ),
    );

    // Assess
    expect(files.length).toBeGreaterThan(100);
    expect(readers).toEqual([]);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** What the process prints on stderr for `warning`, once the warning has been dispatched. */
async function printedFor(warning: string): Promise<string> {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  process.emitWarning(warning);
  await new Promise((resolve) => setImmediate(resolve));
  const printed = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
  stderr.mockRestore();
  return printed;
}

describe('warnings in tests', () => {
  it('drops the AWS SDK notice that its 2027 releases need Node 22, and prints every other warning', async () => {
    // Act: the SDK's own wording (node_modules/@aws-sdk/core, emitWarningIfUnsupportedVersion)
    const notice = await printedFor(
      'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.',
    );
    const other = await printedFor('qmt test: something else went wrong');

    // Assess
    expect(notice).toBe('');
    expect(other).toContain('qmt test: something else went wrong');
  });
});

describe('esbuild in tests and at synth', () => {
  it('logs warnings and errors only, through NodejsFunction and through its API', () => {
    expect(LAMBDA_BUNDLING.logLevel).toBe(LogLevel.WARNING);
    expect(esbuildBuildOptions().logLevel).toBe('warning');
  });
});

describe('temporary folders', () => {
  it('tempDir folders are removed with the test file', () => {
    // Prepare
    const dir = tempDir('qmt-quiet-');
    mkdirSync(join(dir, 'inside'));

    // Act
    removeTempDirs();

    // Assess
    expect(existsSync(dir)).toBe(false);
  });

  it('the run fails, naming the folder, when a test leaves one in its temporary directory', () => {
    // Prepare: a nested run of the global setup, as if this were the first project
    const outer = { run: process.env.QMT_TEST_TMPDIR, tmp: process.env.TMPDIR, exitCode: process.exitCode };
    delete process.env.QMT_TEST_TMPDIR;
    try {
      const teardown = isolateTmp();
      if (!teardown) throw new Error('the global setup made no directory');
      const runDir = tmpdir();
      mkdirSync(join(runDir, 'cdk.outLEFT'));

      // Act / Assess
      expect(teardown).toThrow('tests left temporary folders behind (removed now): cdk.outLEFT');
      expect(process.exitCode).toBe(1);
      expect(existsSync(runDir)).toBe(false);
      expect(process.env.TMPDIR).toBe(outer.tmp);
    } finally {
      restoreEnv('QMT_TEST_TMPDIR', outer.run);
      restoreEnv('TMPDIR', outer.tmp);
      process.exitCode = outer.exitCode;
    }
  });
});
