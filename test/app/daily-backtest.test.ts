/**
 * The daily backtest as a use case across runs: a kept walk is continued by its new day (and reports what a
 * full walk reports), a policy change or a corrupt kept walk is walked again with the reason, and full walks
 * are bounded by the deadline and carried over, the oldest kept walk first.
 */
import { describe, expect, it } from 'vitest';
import { type DailyBacktestResult, runDailyBacktest } from '../../lib/app/daily-backtest.ts';
import { type CandleSeries, DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import {
  DEFAULT_THRESHOLD_POLICY,
  type InstrumentPolicy,
  parseThresholdPolicy,
  type ThresholdPolicy,
} from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { MarketDataSource, TimeRange } from '../../lib/ports.ts';
import { FixedClock, InMemoryBacktestReportStore, PreparedMarket, RecordingOps } from './in-memory-ports.ts';

const DAY0 = Date.UTC(2026, 10, 20);
const SCORED = 100;
const seriesOf = (instrument: string, seed: number): CandleSeries =>
  generateCandles({
    instrument,
    days: 310,
    endTime: DAY0 + 10 * DAY_MS,
    startPrice: 100,
    seed,
    annualVolatility: 0.8,
  });
const SERIES = { A: seriesOf('A', 1), B: seriesOf('B', 2), C: seriesOf('C', 3) };

/** A set made on `day` (ms) for these instruments: the backtest reads only its ids, day and instruments. */
function setOn(day: number, instruments: readonly string[]): ThresholdSet {
  const at = new Date(day + 5 * 60_000).toISOString();
  return {
    setId: at,
    runId: at,
    createdAt: at,
    thresholds: instruments.map((instrument) => ({ instrument })),
  } as unknown as ThresholdSet;
}

/** Each candle request takes a minute of the clock, so a deadline lets a known number of instruments start. */
class SlowMarket implements MarketDataSource {
  readonly name = 'slow';
  private readonly inner = new PreparedMarket(SERIES);
  constructor(private readonly clock: FixedClock) {}
  async candles(instrument: string, range: TimeRange): Promise<CandleSeries> {
    this.clock.time += 60_000;
    return this.inner.candles(instrument, range);
  }
}

function backtester() {
  const reports = new InMemoryBacktestReportStore();
  const run = async (
    day: number,
    instruments: readonly string[],
    policy: ThresholdPolicy = DEFAULT_THRESHOLD_POLICY,
    startsAllowed?: number,
  ): Promise<DailyBacktestResult> => {
    const clock = new FixedClock(day + 5 * 60_000);
    const policies: InstrumentPolicy[] = instruments.map((instrument) => ({ instrument, policy }));
    return runDailyBacktest(
      { market: new SlowMarket(clock), reports, ops: new RecordingOps(), clock },
      {
        set: setOn(day, instruments),
        instruments: policies,
        scoredDays: SCORED,
        // The deadline falls inside the next instrument's minute
        ...(startsAllowed === undefined ? {} : { deadline: clock.time + (startsAllowed - 0.5) * 60_000 }),
      },
    );
  };
  return { reports, run };
}

describe('daily backtest across runs', () => {
  it('continues each kept walk by its new day, and reports exactly what a full walk reports', async () => {
    // Prepare: yesterday's run kept the walks
    const { reports, run } = backtester();
    await run(DAY0, ['A', 'B']);
    // Act: today's run
    const today = await run(DAY0 + DAY_MS, ['A', 'B']);
    // Assess: one new day each, the same report as walking everything again (an empty store)
    expect(today.walks).toEqual([
      { instrument: 'A', walk: 'continued', newDays: 1 },
      { instrument: 'B', walk: 'continued', newDays: 1 },
    ]);
    const full = await backtester().run(DAY0 + DAY_MS, ['A', 'B']);
    expect(full.walks.map((w) => w.walk)).toEqual(['full', 'full']);
    expect(today.report.instruments).toEqual(full.report.instruments);
    expect(today.report.zone).toBe(full.report.zone);
    expect(today.report.instruments[0]?.to).toBe('2026-11-20');
    expect(reports.reports.get(today.report.setId)).toEqual(today.report);
  });

  it('walks in full, with the reason, after a policy change and for a corrupt kept walk', async () => {
    const { reports, run } = backtester();
    await run(DAY0, ['A', 'B']);
    reports.walkTexts.set('B', '{"instrument":"B","rows":');
    const stricter = parseThresholdPolicy({ confidence: 0.995 });
    const today = await run(DAY0 + DAY_MS, ['A', 'B'], stricter);
    expect(today.walks).toEqual([
      { instrument: 'A', walk: 'full', reason: expect.stringMatching(/^the policy changed/) },
      { instrument: 'B', walk: 'full', reason: expect.stringMatching(/^the kept walk is unreadable/) },
    ]);
    expect(today.report.instruments.map((i) => i.confidence)).toEqual([0.995, 0.995]);
    // Both are kept again, under the new policy: the next day is a continuation
    const next = await run(DAY0 + 2 * DAY_MS, ['A', 'B'], stricter);
    expect(next.walks.map((w) => w.walk)).toEqual(['continued', 'continued']);
  });

  it('a kept-walk store that cannot be read or written costs full walks, never the report', async () => {
    // Prepare: walks kept yesterday; today the store fails both ways
    const { reports, run } = backtester();
    await run(DAY0, ['A']);
    reports.walks = () => Promise.reject(new Error('ThrottlingException'));
    reports.recordWalks = () => Promise.reject(new Error('ItemLimitError'));
    // Act
    const today = await run(DAY0 + DAY_MS, ['A']);
    // Assess
    expect(today.walks).toEqual([
      { instrument: 'A', walk: 'full', reason: 'the kept walk is unreadable: Error: ThrottlingException' },
    ]);
    expect(today.walksNotKept).toBe('Error: ItemLimitError');
    expect(today.report.instruments).toHaveLength(1);
    expect(reports.reports.get(today.report.setId)).toEqual(today.report);
  });

  it('bounds full walks by the deadline and carries the rest over, the oldest kept walk first', async () => {
    // Prepare: C kept three days ago, A and B yesterday; then the policy changes
    const { run } = backtester();
    await run(DAY0 - 2 * DAY_MS, ['C']);
    await run(DAY0, ['A', 'B']);
    const stricter = parseThresholdPolicy({ confidence: 0.995 });
    // Act: time to start one instrument per run
    const first = await run(DAY0 + DAY_MS, ['A', 'B', 'C'], stricter, 1);
    // Assess: C (kept longest ago) first; A and B reported as not run, with why
    expect(first.walks).toEqual([
      { instrument: 'C', walk: 'full', reason: expect.stringMatching(/policy changed/) },
    ]);
    expect(first.report.failed).toEqual([
      {
        instrument: 'A',
        reason: expect.stringMatching(
          /^A: not run, the time .* ran out \(to walk in full: the policy changed.*kept to 2026-11-19\)/,
        ),
      },
      { instrument: 'B', reason: expect.stringMatching(/^B: not run/) },
    ]);
    // Next run: C is continued (cheap), then one full walk; the run after finishes the change
    const second = await run(DAY0 + 2 * DAY_MS, ['A', 'B', 'C'], stricter, 2);
    expect(second.walks.map((w) => `${w.instrument} ${w.walk}`)).toEqual(['A full', 'C continued']);
    const third = await run(DAY0 + 3 * DAY_MS, ['A', 'B', 'C'], stricter, 3);
    expect(third.walks.map((w) => `${w.instrument} ${w.walk}`)).toEqual([
      'A continued',
      'B full',
      'C continued',
    ]);
    expect(third.report.failed).toEqual([]);
  });
});
