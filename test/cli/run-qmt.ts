/** Runs the `qmt` command line in-process, as the tests of its commands do, and collects what it prints. */
import type { CycleHooks } from '../../lib/cli/commands/cycle.ts';
import type { Io } from '../../lib/cli/io.ts';
import { main } from '../../lib/cli/main.ts';

export interface QmtRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * @example
 * const { code, out } = await runQmt(['thresholds', '--prices', 'BTC=btc.csv', '--json']);
 */
export async function runQmt(argv: readonly string[], hooks?: CycleHooks): Promise<QmtRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s) };
  const code = await main(argv, io, hooks === undefined ? undefined : { cycle: hooks });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
