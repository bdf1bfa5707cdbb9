/**
 * Issue 11, item 9: big files and intraday bars. A million rows parse, validate and aggregate without
 * overflowing the stack; intraday bars become UTC days (with a note) instead of being held.
 */
import { describe, expect, it } from 'vitest';
import { parseCandlesCsv } from '../../../lib/adapters/csv-file.ts';
import { backtest, MAX_BACKTEST_DAYS } from '../../../lib/domain/backtest/backtest.ts';
import { aggregateToUtcDays, isIntradayInterval } from '../../../lib/domain/market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { GENERATED_SOURCE, generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_CANDLE_VALIDATION_RULES, validateCandles } from '../../../lib/domain/market/validate.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);

/** A bar at `time` around `price`: open below close, a wick each side. */
function bar(time: number, price: number, volume = 1): Candle {
  return { time, open: price, high: price * 1.002, low: price * 0.997, close: price * 1.001, volume };
}

/** `count` bars of `intervalMs` from `start`, a deterministic zig-zag price. */
function bars(count: number, intervalMs: number, start = START): Candle[] {
  return Array.from({ length: count }, (_, i) => bar(start + i * intervalMs, 100 + ((i * 7) % 13)));
}

function series(candles: readonly Candle[], intervalMs: number): CandleSeries {
  return { instrument: 'ETH', intervalMs, candles, source: 'test' };
}

describe('a million 1-minute rows', () => {
  it('parse, validate and aggregate to UTC days without overflowing the stack', () => {
    // Prepare: 1,000,000 minutes = 694 whole days and 640 minutes of a 695th.
    const rows = 1_000_000;
    const lines = ['timestamp,open,high,low,close,volume'];
    for (let i = 0; i < rows; i++) {
      const price = 100 + ((i * 7) % 13);
      const t = (START + i * MINUTE) / 1000;
      lines.push(`${t},${price},${price * 1.002},${price * 0.997},${price * 1.001},1`);
    }
    const text = lines.join('\n');
    const asOf = START + rows * MINUTE;

    // Act
    const minutes = parseCandlesCsv(text, 'ETH');
    const raw = validateCandles(minutes, DEFAULT_CANDLE_VALIDATION_RULES, asOf);
    const aggregation = aggregateToUtcDays(minutes);
    const days = validateCandles(aggregation.series, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess
    expect(minutes.intervalMs).toBe(MINUTE); // inferred from the rows
    expect(minutes.candles).toHaveLength(rows);
    expect(raw.usable).toBe(true);
    expect(aggregation.problemCount).toBe(0);
    expect(aggregation.series.intervalMs).toBe(DAY_MS);
    expect(aggregation.series.candles).toHaveLength(694);
    expect(aggregation.droppedDays).toEqual(['2025-11-25']); // the unfinished 695th day
    expect(days.usable).toBe(true);
    // Day 10 recomputed from its own 1,440 minutes.
    const day = aggregation.series.candles[10] as Candle;
    const own = minutes.candles.slice(10 * 1440, 11 * 1440);
    expect(day).toEqual({
      time: START + 10 * DAY_MS,
      open: own[0]?.open,
      high: Math.max(...own.map((c) => c.high)),
      low: Math.min(...own.map((c) => c.low)),
      close: own[1439]?.close,
      volume: 1440,
    });
    expect(aggregation.note).toMatch(
      /^ETH: 1000000 bars of 1m aggregated to 694 UTC days .*incomplete first\/last day dropped: 2025-11-25$/,
    );
  }, 120_000);
});

describe('aggregateToUtcDays', () => {
  it('accepts the bar lengths that divide a day, and no other', () => {
    for (const ms of [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 12 * HOUR]) {
      expect(isIntradayInterval(ms), String(ms)).toBe(true);
    }
    for (const ms of [7 * HOUR, DAY_MS, 7 * DAY_MS, 0, -HOUR, 1.5]) {
      expect(isIntradayInterval(ms), String(ms)).toBe(false);
    }
  });

  it('keeps a day with a missing bar and names it; drops an incomplete first and last day', () => {
    // Prepare: 4h bars from 08:00 on day 0 to 16:00 on day 4, the 12:00 bar of day 2 missing.
    const all = bars(6 * 5, 4 * HOUR).filter(
      (c) => c.time >= START + 8 * HOUR && c.time <= START + 4 * DAY_MS + 16 * HOUR,
    );
    const candles = all.filter((c) => c.time !== START + 2 * DAY_MS + 12 * HOUR);

    // Act
    const aggregation = aggregateToUtcDays(series(candles, 4 * HOUR));

    // Assess
    expect(aggregation.series.candles.map((c) => c.time)).toEqual([1, 2, 3].map((d) => START + d * DAY_MS));
    expect(aggregation.daysWithMissingBars).toEqual([{ day: '2024-01-03', bars: 5 }]);
    expect(aggregation.droppedDays).toEqual(['2024-01-01', '2024-01-05']);
    expect(aggregation.note).toBe(
      'ETH: 26 bars of 4h aggregated to 3 UTC days (open first, high max, low min, close last, volume sum); ' +
        '1 day with missing bars, kept: 2024-01-03 (5 of 6); incomplete first/last day dropped: 2024-01-01, 2024-01-05',
    );
  });

  it('leaves a day with no bar out, so the daily validator reports the gap', () => {
    const candles = bars(24 * 5, HOUR).filter((c) => Math.floor((c.time - START) / DAY_MS) !== 2);
    const daily = aggregateToUtcDays(series(candles, HOUR)).series;
    const report = validateCandles(daily, { ...DEFAULT_CANDLE_VALIDATION_RULES, minCandles: 1 });
    expect(daily.candles).toHaveLength(4);
    expect(report.issues.map((i) => i.code)).toEqual(['gap']);
  });

  it('names bars it will not repair: out of order, repeated, off the grid, not a bar', () => {
    // Prepare
    const candles = bars(48, HOUR);
    const broken = [
      ...candles.slice(0, 5),
      candles[4] as Candle, // repeated
      candles[3] as Candle, // out of order
      { ...(candles[5] as Candle), time: (candles[5] as Candle).time + 60_000 }, // 00:01 past the hour
      { ...(candles[6] as Candle), close: Number.NaN },
      { ...(candles[7] as Candle), high: 1 }, // high below low
      ...candles.slice(8),
    ];

    // Act
    const aggregation = aggregateToUtcDays(series(broken, HOUR));

    // Assess
    expect(aggregation.problemCount).toBe(5);
    expect(aggregation.problems).toEqual([
      'ETH 2024-01-01T04:00Z: the same bar twice',
      'ETH 2024-01-01T03:00Z: bar after 2024-01-01T04:00Z: out of order',
      'ETH 2024-01-01T05:01Z: not on the 1h bar grid',
      expect.stringMatching(/^ETH 2024-01-01T06:00Z: not a usable bar \(.*close NaN/),
      expect.stringMatching(/^ETH 2024-01-01T07:00Z: not a usable bar \(open 1\d+, high 1, /),
    ]);
  });
});

describe('intraday bars in the model and the backtest', () => {
  const END = Date.UTC(2026, 10, 24);
  const dailyHistory = generateCandles({
    instrument: 'ETH',
    days: 800,
    endTime: END,
    startPrice: 2_000,
    seed: 2,
  });
  /** Each daily bar as 24 hourly bars that aggregate back to it exactly (but for the volume's rounding). */
  const hourly: CandleSeries = {
    ...dailyHistory,
    intervalMs: HOUR,
    candles: dailyHistory.candles.flatMap((d) =>
      Array.from({ length: 24 }, (_, h): Candle => {
        const path = (k: number) => d.open + ((d.close - d.open) * k) / 24;
        const open = path(h);
        const close = path(h + 1);
        return {
          time: d.time + h * HOUR,
          open,
          close,
          high: h === 5 ? d.high : Math.max(open, close),
          low: h === 6 ? d.low : Math.min(open, close),
          volume: d.volume / 24,
        };
      }),
    ),
  };

  it('recalibrates hourly bars on their UTC days, with the same rate as the daily bars and a note', () => {
    const fromDaily = recalibrate(DEFAULT_THRESHOLD_POLICY, dailyHistory, undefined, { asOf: END });
    const fromHourly = recalibrate(DEFAULT_THRESHOLD_POLICY, hourly, undefined, { asOf: END });
    expect(fromDaily.status).toBe('computed');
    expect(fromHourly.status).toBe('computed');
    expect(fromHourly.initialMarginRate).toBeCloseTo(fromDaily.initialMarginRate, 12);
    expect(fromHourly.inputs.candleCount).toBe(800);
    expect(fromHourly.inputs.source).toBe(`${GENERATED_SOURCE} (1h bars aggregated to UTC days)`);
    expect(fromHourly.warnings?.[0]).toMatch(/^ETH: 19200 bars of 1h aggregated to 800 UTC days/);
  });

  it('still holds bars that do not divide a day', () => {
    const sevenHours = { ...hourly, intervalMs: 7 * HOUR };
    const held = recalibrate(DEFAULT_THRESHOLD_POLICY, sevenHours, undefined, { asOf: END });
    expect(held.status).toBe('held');
    expect(held.heldReason).toMatch(/^ETH: bars of 25200000 ms; the model needs daily bars/);
  });

  it('backtests hourly bars on their days, once, with the note in the result', () => {
    const result = backtest(DEFAULT_THRESHOLD_POLICY, hourly);
    expect(result.observations).toBe(backtest(DEFAULT_THRESHOLD_POLICY, dailyHistory).observations);
    expect(result.notes).toEqual([
      expect.stringMatching(/^ETH: 19200 bars of 1h aggregated to 800 UTC days/),
    ]);
  }, 60_000);

  it('refuses a history longer than a backtest can walk, naming the limit', () => {
    const long = generateCandles({
      instrument: 'ETH',
      days: MAX_BACKTEST_DAYS + 1,
      endTime: END,
      startPrice: 10,
      seed: 1,
    });
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, long)).toThrow(
      `ETH: ${MAX_BACKTEST_DAYS + 1} daily bars; a backtest walks at most ${MAX_BACKTEST_DAYS}`,
    );
  });
});
