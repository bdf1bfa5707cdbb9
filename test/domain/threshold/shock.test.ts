import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import type { InstrumentMark } from '../../../lib/domain/market/mark.ts';
import { holdThreshold } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { assessShock, triggerLogMove, withProvisionalCandle } from '../../../lib/domain/threshold/shock.ts';

const today = Date.UTC(2026, 10, 24);
const series = generateCandles({ instrument: 'BTC', days: 200, endTime: today, startPrice: 100, seed: 3 });
const last = series.candles[series.candles.length - 1];
const mark = (price: number, venues = ['a', 'b', 'c']): InstrumentMark => ({
  instrument: 'BTC',
  price,
  at: today + 14 * 3_600_000,
  source: 'live',
  venues,
});

describe('withProvisionalCandle', () => {
  it('appends today from yesterday’s close to the mark, with yesterday’s volume', () => {
    const result = withProvisionalCandle(series, mark(70), true);
    if (!('series' in result)) throw new Error(result.reason);
    expect(result.series.candles).toHaveLength(series.candles.length + 1);
    expect(result.series.candles.at(-1)).toEqual({
      time: today,
      open: last?.close,
      high: Math.max(last?.close as number, 70),
      low: Math.min(last?.close as number, 70),
      close: 70,
      volume: last?.volume,
    });
    expect(result.series.confirmingVenues).toBe(3);
  });

  it('refuses a series that does not end yesterday: the return would span more than a day', () => {
    const old = { ...series, candles: series.candles.slice(0, -2) };
    const result = withProvisionalCandle(old, mark(70), true);
    expect(result).toEqual({ reason: expect.stringMatching(/end at 2026-11-21, not 2026-11-23/) });
  });

  it('lets the mark’s venues confirm the provisional close only when the history passed the jump rule', () => {
    const result = withProvisionalCandle(series, mark(70), false);
    if (!('series' in result)) throw new Error(result.reason);
    expect(result.series.confirmingVenues).toBeUndefined();
    const single = withProvisionalCandle(series, mark(70, ['a']), true);
    if (!('series' in single)) throw new Error(single.reason);
    expect(single.series.confirmingVenues).toBeUndefined();
  });
});

describe('assessShock', () => {
  it('uses the fallback move for a threshold without σ (held at the cap)', () => {
    const held = holdThreshold(DEFAULT_THRESHOLD_POLICY, series, undefined, 'new listing');
    expect(held.components.effectiveVolatility).toBeUndefined();
    expect(triggerLogMove(DEFAULT_THRESHOLD_POLICY.shock, held)).toBe(Math.log(1.1));
    const reference = held.referencePrice as number;
    const snapshot = (price: number) => ({
      takenAt: today,
      marks: new Map([['BTC', mark(price)]]),
      held: new Map(),
    });
    expect(assessShock(DEFAULT_THRESHOLD_POLICY.shock, 'BTC', held, snapshot(reference * 1.09)).verdict).toBe(
      'below-trigger',
    );
    expect(assessShock(DEFAULT_THRESHOLD_POLICY.shock, 'BTC', held, snapshot(reference * 1.11)).verdict).toBe(
      'triggered',
    );
  });

  it('turns shock runs off at maxRunsPerDay 0', () => {
    const held = holdThreshold(DEFAULT_THRESHOLD_POLICY, series, undefined, 'new listing');
    const snapshot = {
      takenAt: today,
      marks: new Map([['BTC', mark((held.referencePrice as number) * 0.5)]]),
      held: new Map(),
    };
    const off = { ...DEFAULT_THRESHOLD_POLICY.shock, maxRunsPerDay: 0 };
    expect(assessShock(off, 'BTC', held, snapshot).verdict).toBe('daily-cap');
    expect(assessShock(off, 'BTC', undefined, snapshot).verdict).toBe('no-threshold');
  });

  it('counts a shock run of another day as none today', () => {
    const held = holdThreshold(DEFAULT_THRESHOLD_POLICY, series, undefined, 'new listing');
    const yesterdays = {
      ...held,
      shock: {
        trigger: 'shock' as const,
        mark: 1,
        markAt: new Date(today - DAY_MS).toISOString(),
        referencePrice: 1,
        move: 0,
        triggerLogMove: 0.1,
        day: '2026-11-23',
        runOfDay: 3,
      },
    };
    const snapshot = {
      takenAt: today,
      marks: new Map([['BTC', mark((held.referencePrice as number) * 0.5)]]),
      held: new Map(),
    };
    expect(assessShock(DEFAULT_THRESHOLD_POLICY.shock, 'BTC', yesterdays, snapshot)).toEqual(
      expect.objectContaining({ verdict: 'triggered', runsToday: 0, day: '2026-11-24' }),
    );
  });
});
