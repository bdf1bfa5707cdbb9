import { describe, expect, it } from 'vitest';
import { thresholdsFor } from '../../lib/cli/commands/thresholds.ts';
import { DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';

/** `qmt thresholds` on price files: the run's clock is the files' day after, never later than today. */
describe('thresholdsFor (issue 11 item 8)', () => {
  const policies = { policyFor: () => DEFAULT_THRESHOLD_POLICY };
  const NOW = Date.UTC(2026, 11, 3, 9);
  const TODAY = Date.UTC(2026, 11, 3);
  const file = generateCandles({ instrument: 'BTC', days: 400, endTime: TODAY, startPrice: 30_000, seed: 5 });
  const shifted = { ...file, candles: file.candles.map((c) => ({ ...c, time: c.time + 3 * DAY_MS })) };

  it('holds a file dated into the future instead of running on its clock', () => {
    // Act
    const [clean, misdated] = thresholdsFor([file, shifted], policies, undefined, NOW);

    // Assess
    expect(clean?.status).toBe('computed');
    expect(misdated?.status).toBe('held');
    expect(misdated?.heldReason).toContain(
      "BTC 2026-12-04: candle dated after the run's clock 2026-12-03 (2 candles, to 2026-12-05): misdated series",
    );
  });

  it('replays a chosen past day on the candles before it, as before', () => {
    // Act
    const [replay] = thresholdsFor([file], policies, TODAY - 10 * DAY_MS, NOW);

    // Assess
    expect(replay?.status).toBe('computed');
    expect(replay?.asOf).toBe('2026-11-22');
  });
});
