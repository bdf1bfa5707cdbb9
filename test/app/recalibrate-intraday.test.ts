import { describe, expect, it } from 'vitest';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { seededRandom } from '../../lib/domain/math/random.ts';
import { parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import {
  FixedClock,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingOps,
} from './in-memory-ports.ts';

const HOUR = 3_600_000;
const today = Date.UTC(2026, 10, 24);

/** 90 days of hourly bars ending at today's 00:00, σ 0.5% an hour. */
function hourly(instrument: string): CandleSeries {
  const random = seededRandom(4);
  const candles: Candle[] = [];
  let close = 2000;
  for (let time = today - 90 * 24 * HOUR; time < today; time += HOUR) {
    const open = close;
    close =
      open * Math.exp(0.005 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
    candles.push({ time, open, high: Math.max(open, close), low: Math.min(open, close), close, volume: 1 });
  }
  return { instrument, intervalMs: HOUR, candles, source: 'test-hourly' };
}

describe('the recalibration function at an hourly MPOR (issue 14 item 3)', () => {
  it('computes from an hourly source and holds an instrument whose source is daily, with the reason', async () => {
    const clock = new FixedClock(today + 60_000);
    const ports = {
      market: new PreparedMarket({
        ETH: hourly('ETH'),
        BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 100, seed: 1 }),
      }),
      thresholds: new InMemoryThresholdStore(),
      ledger: new InMemoryRunLedger(clock),
      ops: new RecordingOps(),
      clock,
    };
    const policy = parseThresholdPolicy({
      marginPeriodOfRisk: '1h',
      stress: { coveredShare: 0 },
      bounds: { minInitialMarginRate: 0.001 },
    });
    const instruments = ['ETH', 'BTC'].map((instrument) => ({ instrument, policy }));

    const result = await recalibrate(ports, { runId: '2026-11-24T00:00:00Z', holder: 'test', instruments });

    expect(result.outcome).toBe('published');
    const [eth, btc] = (await ports.thresholds.currentSet())?.thresholds ?? [];
    expect(eth?.status).toBe('computed');
    expect(eth?.initialMarginRate).toBeGreaterThan(0.005 * 2);
    expect(eth?.initialMarginRate).toBeLessThan(0.005 * 4);
    expect(btc?.status).toBe('held');
    expect(btc?.heldReason).toMatch(/1h, under a day, and the prices are daily bars/);
  });

  it('reads hourly bars from the intraday market for a sub-day MPOR only, over the history its policy reads', async () => {
    const clock = new FixedClock(today + 60_000);
    const daily = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 100, seed: 1 }),
    });
    const intraday = new PreparedMarket({ ETH: hourly('ETH') });
    const ports = {
      market: daily,
      intradayMarket: intraday,
      thresholds: new InMemoryThresholdStore(),
      ledger: new InMemoryRunLedger(clock),
      ops: new RecordingOps(),
      clock,
    };
    const hourlyPolicy = parseThresholdPolicy({
      marginPeriodOfRisk: '1h',
      lookbackDays: 400,
      antiProcyclicality: { longLookbackFloor: null, stressedPeriodFloor: null, buffer: 0.25 },
      stress: { coveredShare: 0 },
      bounds: { minInitialMarginRate: 0.001 },
    });
    const instruments = [
      { instrument: 'ETH', policy: hourlyPolicy },
      { instrument: 'BTC', policy: parseThresholdPolicy({}) },
    ];

    await recalibrate(ports, { runId: '2026-11-24T00:00:00Z', holder: 'test', instruments });

    // ETH: lookback 400 days + the EWMA seed + a day for the MPOR windows; BTC: the run's 3,650 days.
    const seed = hourlyPolicy.volatility.seedDays;
    expect(intraday.requests).toEqual([
      { instrument: 'ETH', range: { from: today - (401 + seed) * DAY_MS, to: today } },
    ]);
    expect(daily.requests).toEqual([
      { instrument: 'BTC', range: { from: today - 3_650 * DAY_MS, to: today } },
    ]);
    const [eth, btc] = (await ports.thresholds.currentSet())?.thresholds ?? [];
    expect(eth?.status).toBe('computed');
    expect(eth?.warnings?.join('\n')).toContain('MPOR 1h on 1h bars');
    expect(btc?.status).toBe('computed');
  });
});
