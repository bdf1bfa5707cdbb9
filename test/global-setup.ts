/**
 * Each test run gets its own temporary directory (TMPDIR, which the workers and os.tmpdir() follow), so
 * runs side by side never see each other's folders. At the end the run fails if a test left a folder behind:
 * tests make theirs with test/temp-dirs.ts, or remove them themselves.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function isolateTmp(): (() => void) | undefined {
  // Every project runs the global setup; the first one owns the directory.
  if (process.env.QMT_TEST_TMPDIR) return undefined;
  const original = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'qmt-test-run-'));
  process.env.TMPDIR = dir;
  process.env.QMT_TEST_TMPDIR = dir;
  return () => {
    const left = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    if (original === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = original;
    delete process.env.QMT_TEST_TMPDIR;
    if (left.length > 0) {
      // Vitest reports a teardown error but still exits 0: set the exit code too.
      process.exitCode = 1;
      throw new Error(`tests left temporary folders behind (removed now): ${left.join(', ')}`);
    }
  };
}
