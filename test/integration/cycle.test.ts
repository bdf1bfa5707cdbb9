/**
 * `npm start -- --offline` end to end: DynamoDB Local started by the command, the real handlers, generated
 * prices. The runs on the real price files: test/data/integration/cycle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { runQmt } from '../cli/run-qmt.ts';
import { tempDir } from '../temp-dirs.ts';

const run = (...argv: string[]) => runQmt(argv);

describe('npm start (qmt start)', () => {
  it('runs offline on generated prices, labelled as generated, and prints a readable summary', async () => {
    const dataDir = tempDir('qmt-offline-');
    const { code, out } = await run('start', '--offline', '--data-dir', dataDir);
    expect(code).toBe(0);
    expect(out).toContain('GENERATED prices');
    expect(out).toMatch(/BTC\s+\d{4}-\d{2}-\d{2}\s+ok/);
    expect(out).toMatch(
      /swept 300 accounts in \d+ segment\(s\): \d+ state changes, \d+ alerts, 0 records rejected/,
    );
  }, 120_000);
});
