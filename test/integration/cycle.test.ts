/**
 * `npm start -- --offline` end to end: DynamoDB Local started by the command, the real handlers, generated
 * prices. The runs on the real price files: test/data/integration/cycle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type Io, main } from '../../lib/cli/main.ts';
import { tempDir } from '../temp-dirs.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

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
