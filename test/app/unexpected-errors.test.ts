/**
 * Use cases catch only the errors they expect (bad data for one account or one instrument). A
 * configuration error or a bug mid-run fails the run: it never passes for a rejected account or a held
 * threshold, which would hide it behind a result that looks routine.
 */
import { describe, expect, it } from 'vitest';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { TimeRange } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { account, btc } from './sweep-fixtures.ts';

const today = Date.UTC(2026, 10, 24);
const runId = '2026-11-24T00:00:00Z';
const instruments = ['BTC'].map((instrument) => ({ instrument, policy: DEFAULT_THRESHOLD_POLICY }));

function recalibrationPorts(market: PreparedMarket) {
  const clock = new FixedClock(today + 60_000);
  return {
    market,
    thresholds: new InMemoryThresholdStore(),
    ledger: new InMemoryRunLedger(clock),
    ops: new RecordingOps(),
    clock,
  };
}

/** A market with prices whose implied-volatility feed fails with `error`. */
class VolatilityFailing extends PreparedMarket {
  constructor(private readonly error: Error) {
    super({
      BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 100, seed: 1 }),
    });
  }
  async impliedVolatility(_instrument: string, _range: TimeRange): Promise<never> {
    throw this.error;
  }
}

describe('recalibrate: an unexpected error fails the run, no threshold is held for it', () => {
  it('a configuration error from the market source', async () => {
    const thrown = new ConfigError('QMT_MARKET_VENUES names no venue', 'QMT_MARKET_VENUES');
    const ports = recalibrationPorts(new PreparedMarket({ BTC: thrown }));
    await expect(recalibrate(ports, { runId, holder: 'test', instruments })).rejects.toBe(thrown);
    expect(await ports.thresholds.currentSet()).toBeUndefined();
    expect(ports.ledger.runs.get(runId)?.outcome).toBe('failed');
  });

  it('a bug in the implied-volatility feed', async () => {
    const thrown = new TypeError("Cannot read properties of undefined (reading 'points')");
    const ports = recalibrationPorts(new VolatilityFailing(thrown));
    await expect(recalibrate(ports, { runId, holder: 'test', instruments })).rejects.toBe(thrown);
    expect(await ports.thresholds.currentSet()).toBeUndefined();
  });
});

describe('sweepSegment: an unexpected error fails the sweep, no account is rejected for it', () => {
  it('margin levels that are misconfigured', async () => {
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(
      { setId: 'set-1', runId: 'run-1', createdAt: runId, thresholds: [btc] },
      undefined,
    );
    const ports = {
      accounts: new InMemoryAccountSource([account('acc-1', 2_000)]),
      thresholds,
      statuses: new InMemoryMarginStatusStore(),
      alerts: new RecordingAlerts(),
      ops: new RecordingOps(),
      clock: new FixedClock(today + 5 * 60_000),
    };
    const levels = { ...DEFAULT_THRESHOLD_POLICY.levels, hysteresis: -1 };
    await expect(
      sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 }, levels }),
    ).rejects.toBeInstanceOf(PolicyError);
    expect(ports.alerts.published).toEqual([]);
  });
});
