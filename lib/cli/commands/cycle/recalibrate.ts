/** Step 3 of the local cycle: recalibrate through the real handler, then print the set that applies. */
import {
  type BacktestOutcome,
  createRecalibrateHandler,
} from '../../../../lambdas/recalibrate/recalibrate-handler.ts';
import type { ThresholdSet } from '../../../domain/threshold/threshold.ts';
import type { Io } from '../../io.ts';
import { noteForTerminal } from '../market-data.ts';
import { formatThresholds } from '../thresholds.ts';
import { LocalRunError } from './errors.ts';
import { lambdaContext, silent } from './lambda-runtime.ts';
import type { LocalStack } from './local-stack.ts';

/**
 * Recalibrate as the 00:00 UTC schedule of `today` would (idempotent on that scheduled time) and, unless
 * `quiet` is false, print the run's heading, the data notes and the thresholds.
 * @returns the current threshold set after the run
 */
export async function recalibrate(
  stack: LocalStack,
  today: number,
  notes: readonly string[],
  io: Io,
  quiet: boolean,
): Promise<ThresholdSet> {
  const handler = createRecalibrateHandler({
    ...stack.common,
    observability: silent('recalibrate'),
    idempotencyStore: stack.idempotencyStore(),
  });
  const summary = await handler(
    { scheduledTime: new Date(today).toISOString() },
    lambdaContext('recalibrate'),
  );
  const set = await stack.common.adapters.thresholds.currentSet();
  if (!set) throw new LocalRunError('the recalibration published no threshold set');
  if (quiet) {
    io.out(`qmt local cycle, ${new Date(today).toISOString().slice(0, 10)}`);
    for (const note of notes) io.out(`  ${noteForTerminal(note)}`);
    // A rerun on the same day gets the stored result back from the idempotency record: say which set applies.
    const held = set.thresholds.filter((t) => t.status === 'held').length;
    io.out(
      `  threshold set ${set.setId}: ${set.thresholds.length} instruments, ${held} held, computed ${set.createdAt}` +
        (summary.outcome === 'skipped' ? ` (${summary.reason})` : ''),
    );
    io.out('');
    io.out(formatThresholds(set.thresholds));
    io.out('');
    if (summary.outcome === 'published' && summary.backtest.status !== 'disabled') {
      io.out(backtestLine(summary.backtest, set.setId));
      io.out('');
    }
  }
  return set;
}

/** One line on the daily backtest: its zone per instrument, and where to read the report. */
function backtestLine(outcome: Exclude<BacktestOutcome, { status: 'disabled' }>, setId: string): string {
  if (outcome.status === 'failed') return `  daily backtest FAILED: ${outcome.reason}`;
  const zones = outcome.instruments
    .map((i) => `${i.instrument} ${i.zone} (${i.longBreaches}/${i.shortBreaches} of ${i.observations})`)
    .join(', ');
  const failed =
    outcome.failed.length > 0
      ? `; not backtested: ${outcome.failed.map((f) => f.instrument).join(', ')}`
      : '';
  return `  daily backtest ${outcome.zone.toUpperCase()}: ${zones || 'none'}${failed} (qmt backtest-report --set ${setId})`;
}
