import { describe, expect, it } from 'vitest';
import { planSweep } from '../../lib/app/plan-sweep.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { MarketSourceError } from '../../lib/domain/errors.ts';
import { type CandleSeries, DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import {
  FixedClock,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingOps,
} from './in-memory-ports.ts';

const today = Date.UTC(2026, 10, 24);
const history = (instrument: string, seed: number, endTime = today): CandleSeries =>
  generateCandles({ instrument, days: 1000, endTime, startPrice: 100, seed });
const instruments = ['BTC', 'ETH'].map((instrument) => ({ instrument, policy: DEFAULT_THRESHOLD_POLICY }));

function setup(answers: Record<string, CandleSeries | Error>) {
  const clock = new FixedClock(today + 60_000);
  const ports = {
    market: new PreparedMarket(answers),
    thresholds: new InMemoryThresholdStore(),
    ledger: new InMemoryRunLedger(clock),
    ops: new RecordingOps(),
    clock,
  };
  return ports;
}

describe('recalibrate use case', () => {
  it('publishes one set with every instrument, flips CURRENT and tells ops', async () => {
    // Prepare
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    // Act
    const result = await recalibrate(ports, { runId: '2026-11-24T00:00:00Z', holder: 'test', instruments });
    // Assess
    expect(result.outcome).toBe('published');
    const current = await ports.thresholds.currentSet();
    expect(current?.thresholds.map((t) => t.instrument)).toEqual(['BTC', 'ETH']);
    expect(current?.thresholds.every((t) => t.status === 'computed' && t.asOf === '2026-11-23')).toBe(true);
    expect(ports.ops.events).toEqual([
      expect.objectContaining({ type: 'recalibration.completed', instruments: 2, held: [] }),
    ]);
    expect(ports.ledger.runs.get('2026-11-24T00:00:00Z')?.outcome).toBe('succeeded');
    // Candles up to (not including) today, ten years back.
    expect(ports.market.requests[0]?.range).toEqual({ from: today - 3650 * DAY_MS, to: today });
  });

  it('estimates each pair correlation (lookback and stressed) and stores it with the set', async () => {
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    await recalibrate(ports, { runId: 'run-1', holder: 'test', instruments });
    const current = await ports.thresholds.currentSet();
    expect(current?.correlations).toHaveLength(1);
    const pair = current?.correlations?.[0];
    expect(pair).toMatchObject({ a: 'BTC', b: 'ETH' });
    // The generated histories start in 2024: no default stress window (2020–2022) is in them.
    expect(pair?.lookback?.days).toBe(730);
    expect(pair?.lookback?.to).toBe('2026-11-23');
    expect(Number.isFinite(pair?.lookback?.rho)).toBe(true);
    expect(pair?.rho).toBe(pair?.lookback?.rho);
    expect(pair?.refused).toBeUndefined();
    expect(pair?.stressedThin).toBe('BTC/ETH: 0 common daily returns in the stress windows, fewer than 5');
  });

  it('refuses the pairs of an instrument it holds: bad data earns no offset', async () => {
    const ports = setup({
      BTC: history('BTC', 1),
      ETH: new MarketSourceError('all venues timed out', 'consensus', 'ETH'),
    });
    const result = await recalibrate(ports, { runId: 'run-1', holder: 'test', instruments });
    if (result.outcome !== 'published') throw new Error('expected a published set');
    expect(result.set.correlations).toEqual([
      { a: 'BTC', b: 'ETH', refused: 'BTC/ETH: ETH was held, its data unusable' },
    ]);
  });

  it('does nothing for a repeated scheduled event', async () => {
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    const request = { runId: '2026-11-24T00:00:00Z', holder: 'a', instruments };
    await recalibrate(ports, request);
    const again = await recalibrate(ports, { ...request, holder: 'b' });
    expect(again.outcome).toBe('skipped');
    expect(ports.thresholds.sets.size).toBe(1);
    expect(ports.ops.events).toHaveLength(1);
  });

  it('holds an instrument whose feed fails, never lowering its margin, and still publishes the rest', async () => {
    // Prepare: a first run with good data for both.
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    await recalibrate(ports, { runId: 'run-1', holder: 't', instruments });
    const before = (await ports.thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'ETH');
    // Act: the next day ETH's venues are down.
    const next = {
      ...ports,
      market: new PreparedMarket({
        BTC: history('BTC', 1, today + DAY_MS),
        ETH: new MarketSourceError('all venues timed out', 'consensus', 'ETH'),
      }),
      ops: new RecordingOps(),
    };
    ports.clock.time = today + DAY_MS + 60_000;
    const result = await recalibrate(next, { runId: 'run-2', holder: 't', instruments });
    // Assess
    if (result.outcome !== 'published') throw new Error('expected a published set');
    const eth = result.set.thresholds.find((t) => t.instrument === 'ETH');
    expect(eth?.status).toBe('held');
    expect(eth?.heldReason).toContain('all venues timed out');
    expect(eth?.initialMarginRate).toBe(before?.initialMarginRate);
    expect(result.held).toEqual([{ instrument: 'ETH', reason: eth?.heldReason }]);
    expect(next.ops.events[0]).toMatchObject({
      type: 'recalibration.completed',
      held: [{ instrument: 'ETH' }],
    });
    expect(result.set.previousSetId).toBe('run-1');
  });

  it('records a lost pointer race as a failed run, tells ops, and rethrows', async () => {
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    ports.thresholds.publishSet = async () => {
      throw new (await import('../../lib/domain/errors.ts')).ThresholdSetConflictError('moved', undefined);
    };
    await expect(recalibrate(ports, { runId: 'r', holder: 't', instruments })).rejects.toThrow('moved');
    expect(ports.ledger.runs.get('r')?.outcome).toBe('failed');
    expect(ports.ops.events[0]).toMatchObject({ type: 'recalibration.failed', runId: 'r' });
  });
});

describe('recalibrate retried after CURRENT flipped', () => {
  it('finishes the run on retry instead of failing against its own set', async () => {
    // Prepare: the ops summary fails once, after the set is live.
    const ports = setup({ BTC: history('BTC', 1), ETH: history('ETH', 2) });
    const publish = ports.ops.publish.bind(ports.ops);
    let failures = 1;
    ports.ops.publish = async (event) => {
      if (event.type === 'recalibration.completed' && failures-- > 0) throw new Error('SNS throttled');
      await publish(event);
    };
    const request = { runId: '2026-11-24T00:00:00Z', holder: 'a', instruments };
    await expect(recalibrate(ports, request)).rejects.toThrow('SNS throttled');
    expect(ports.ledger.runs.get(request.runId)?.outcome).toBe('failed');
    // Act: the scheduler retries.
    const retry = await recalibrate(ports, { ...request, holder: 'b' });
    // Assess
    expect(retry.outcome).toBe('published');
    expect(ports.thresholds.sets.size).toBe(1);
    expect(ports.ledger.runs.get(request.runId)?.outcome).toBe('succeeded');
    expect(ports.ops.events.filter((e) => e.type === 'recalibration.completed')).toHaveLength(1);
  });
});

describe('planSweep', () => {
  it('gives each worker about the target number of accounts', () => {
    expect(planSweep({ approximateAccounts: 10_000_000 })).toEqual({
      totalSegments: 100,
      accountsPerSegment: 100_000,
    });
    expect(planSweep({ approximateAccounts: 1_000_001 })).toEqual({
      totalSegments: 11,
      accountsPerSegment: 90_910,
    });
    expect(planSweep({ approximateAccounts: 300 })).toEqual({ totalSegments: 1, accountsPerSegment: 300 });
    expect(planSweep({ approximateAccounts: 0 })).toEqual({ totalSegments: 1, accountsPerSegment: 0 });
    expect(planSweep({ approximateAccounts: 1e9, maxSegments: 500 }).totalSegments).toBe(500);
  });

  it('rejects a nonsensical target', () => {
    expect(() => planSweep({ approximateAccounts: 10, accountsPerSegment: 0 })).toThrow('accountsPerSegment');
  });
});
