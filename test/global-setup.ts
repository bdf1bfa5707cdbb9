/**
 * Each test run gets its own temporary directory (TMPDIR, which the workers and os.tmpdir() follow), so
 * runs side by side never see each other's folders. At the end the run fails if a test left a folder behind:
 * tests make theirs with test/temp-dirs.ts, or remove them themselves. It fails too if a test wrote into the
 * repository's own `.qmt` (the local runs' default data directory, which belongs to the developer's demo).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const LOCAL_DATA_DIR = resolve(import.meta.dirname, '..', '.qmt');

/** Every file under `dir` with its modification time: what a test run must leave as it found. */
function snapshot(dir: string): string {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .sort()
      .map((entry) => `${entry}@${statSync(join(dir, entry)).mtimeMs}`)
      .join('\n');
  } catch {
    return '';
  }
}

export default function isolateTmp(): (() => void) | undefined {
  // Every project runs the global setup; the first one owns the directory.
  if (process.env.QMT_TEST_TMPDIR) return undefined;
  const original = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'qmt-test-run-'));
  process.env.TMPDIR = dir;
  process.env.QMT_TEST_TMPDIR = dir;
  const localData = snapshot(LOCAL_DATA_DIR);
  return () => {
    const wroteLocalData = snapshot(LOCAL_DATA_DIR) !== localData;
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
    if (wroteLocalData) {
      process.exitCode = 1;
      throw new Error(`a test wrote into ${LOCAL_DATA_DIR}: give every local run a --data-dir of its own`);
    }
  };
}
