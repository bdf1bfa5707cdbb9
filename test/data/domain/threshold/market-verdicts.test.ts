import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../../../lib/adapters/csv-file.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../../../../lib/domain/market/candle.ts';
import { validateCandles } from '../../../../lib/domain/market/validate.ts';
import { recalibrate } from '../../../../lib/domain/threshold/model.ts';
import {
  DEFAULT_STRESS_SCENARIOS,
  DEFAULT_THRESHOLD_POLICY,
} from '../../../../lib/domain/threshold/policy.ts';

/**
 * Issue 11, items 6–8 on the real daily files (../shared/data/{BTC,ETH,SOL}-USD.csv, read in place): the
 * new data checks hold bad data put into them, and never flag the real crashes, which the next bars and
 * every venue confirmed.
 */
const SHARED_DATA = resolve(import.meta.dirname, '../../../../../shared/data');
const policy = DEFAULT_THRESHOLD_POLICY;
type Instrument = 'BTC' | 'ETH' | 'SOL';
const series: Partial<Record<Instrument, CandleSeries>> = {};

beforeAll(async () => {
  for (const instrument of ['BTC', 'ETH', 'SOL'] as const) {
    series[instrument] = await readCandlesCsv(resolve(SHARED_DATA, `${instrument}-USD.csv`), instrument);
  }
});

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** What the scheduled run on `day` sees: the candles before it, asOf its midnight. */
function seenOn(instrument: Instrument, day: string): CandleSeries {
  const all = series[instrument];
  if (!all) throw new Error(`${instrument} not loaded`);
  return { ...all, candles: all.candles.filter((c) => c.time < dayStart(day)) };
}

function withLast(s: CandleSeries, change: (last: Candle, previous: Candle) => Candle): CandleSeries {
  const n = s.candles.length;
  return {
    ...s,
    candles: s.candles.map((c, i) => (i === n - 1 ? change(c, s.candles[n - 2] as Candle) : c)),
  };
}

describe('real crashes are not flagged (issue 11 items 6–8)', () => {
  // Each crash day as the LAST bar (the run the morning after, before any next bar could confirm it) and
  // then with the following days in: a single source, so only the size rule (jumpSigmas) can pass them.
  const crashes: [Instrument, string][] = [
    ['BTC', '2020-03-12'],
    ['BTC', '2020-03-13'],
    ['ETH', '2020-03-12'],
    ['ETH', '2020-03-13'],
    ['BTC', '2021-05-19'],
    ['ETH', '2021-05-19'],
    ['SOL', '2021-05-19'],
    ...(['BTC', 'ETH', 'SOL'] as const).flatMap((instrument) =>
      ['2022-05-09', '2022-05-10', '2022-05-11', '2022-05-12', '2022-11-08', '2022-11-09'].map(
        (day): [Instrument, string] => [instrument, day],
      ),
    ),
  ];

  it.each(crashes)(
    '%s %s: validated clean and computed, as the last bar and a week later',
    (instrument, day) => {
      for (const runDay of [dayStart(day) + DAY_MS, dayStart(day) + 8 * DAY_MS]) {
        // Prepare
        const seen = seenOn(instrument, new Date(runDay).toISOString().slice(0, 10));

        // Act
        const report = validateCandles(seen, policy.dataQuality, runDay);
        const threshold = recalibrate(policy, seen, undefined, { asOf: runDay });

        // Assess
        expect(report.issues).toEqual([]);
        expect(threshold.status).toBe('computed');
        expect(threshold.referencePrice).toBe(seen.candles.at(-1)?.close);
      }
    },
  );

  it.each(['BTC', 'ETH', 'SOL'] as const)('%s: the whole file raises no issue', (instrument) => {
    // Prepare
    const all = seenOn(instrument, '2023-08-01');

    // Act
    const report = validateCandles(all, policy.dataQuality, dayStart('2023-08-01'));

    // Assess
    expect(report.issues).toEqual([]);
  });
});

describe('bad data in real BTC prices is held (issue 11 items 6–8)', () => {
  const RUN = dayStart('2023-08-01');
  let previous: ReturnType<typeof recalibrate>;

  beforeAll(() => {
    previous = recalibrate(policy, seenOn('BTC', '2023-07-31'), undefined, { asOf: dayStart('2023-07-31') });
  });

  it('a ×10 last bar is held: the margin and the reference price stay where they were', () => {
    // Prepare
    const jumped = withLast(seenOn('BTC', '2023-08-01'), (last, prior) => ({
      ...last,
      close: prior.close * 10,
      high: prior.close * 10,
    }));

    // Act
    const threshold = recalibrate(policy, jumped, previous, { asOf: RUN });

    // Assess
    expect(previous.status).toBe('computed');
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toMatch(/^BTC 2023-07-31: close [\d.]+ is an unconfirmed jump: \+900\.0% /);
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
    expect(threshold.referencePrice).toBe(previous.referencePrice);
  });

  it('thirty identical closes with zero range are held, not a lower margin', () => {
    // Prepare: from 2023-07-02 the feed repeats that day's close.
    const fresh = seenOn('BTC', '2023-08-01');
    const from = fresh.candles.length - 30;
    const stuck = (fresh.candles[from] as Candle).close;
    const frozen = {
      ...fresh,
      candles: fresh.candles.map((c, i) =>
        i < from ? c : { ...c, open: stuck, high: stuck, low: stuck, close: stuck },
      ),
    };

    // Act
    const threshold = recalibrate(policy, frozen, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toContain('BTC 2023-07-02: close');
    expect(threshold.heldReason).toContain('repeated on 30 bars in a row, to 2023-07-31: a frozen feed');
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
  });

  it('the file shifted ten days into the future is held, naming the first misdated candle', () => {
    // Prepare
    const fresh = seenOn('BTC', '2023-08-01');
    const shifted = { ...fresh, candles: fresh.candles.map((c) => ({ ...c, time: c.time + 10 * DAY_MS })) };

    // Act
    const threshold = recalibrate(policy, shifted, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toContain(
      "BTC 2023-08-02: candle dated after the run's clock 2023-08-01 (9 candles, to 2023-08-10)",
    );
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
  });

  it('the file starting after 2020-03-12 keeps the COVID stress floor from its recorded move', () => {
    // Prepare: the last three years only, as a venue with short history would give.
    const fresh = seenOn('BTC', '2023-08-01');
    const recent = { ...fresh, candles: fresh.candles.filter((c) => c.time >= dayStart('2020-08-01')) };

    // Act
    const full = recalibrate(policy, fresh, undefined, { asOf: RUN });
    const short = recalibrate(policy, recent, undefined, { asOf: RUN });

    // Assess: the same stress rate, measured on the full file and recorded for the short one.
    expect(short.components.stressScenarios?.['covid-crash']).toEqual({
      long: 0.3717,
      short: 0.1193,
      source: 'recorded, not in series',
    });
    expect(short.components.stressRate).toBeCloseTo(full.components.stressRate ?? Number.NaN, 5);
  });
});

describe('the default scenarios’ recorded moves are the shared files’ (issue 11 item 8)', () => {
  it('match, to 4 places, what the model measures on each file, and the generic move is the worst of them', () => {
    // Act: a run on 2023-08-01 covers every scenario each file has.
    const measured = (['BTC', 'ETH', 'SOL'] as const).map((instrument) => ({
      instrument,
      scenarios: recalibrate(policy, seenOn(instrument, '2023-08-01'), undefined, {
        asOf: dayStart('2023-08-01'),
      }).components.stressScenarios,
    }));

    // Assess
    const round = (x: number) => Math.round(x * 1e4) / 1e4;
    for (const scenario of DEFAULT_STRESS_SCENARIOS) {
      const own = measured.filter((m) => m.scenarios?.[scenario.name]?.source === undefined);
      for (const { instrument, scenarios } of own) {
        const loss = scenarios?.[scenario.name];
        expect(scenario.recorded.instruments).toHaveProperty(instrument);
        const recorded = (scenario.recorded.instruments as Record<string, { long: number; short: number }>)[
          instrument
        ];
        expect([instrument, scenario.name, recorded]).toEqual([
          instrument,
          scenario.name,
          { long: round(loss?.long ?? Number.NaN), short: round(loss?.short ?? Number.NaN) },
        ]);
      }
      const worst = (side: 'long' | 'short') =>
        Math.max(...own.map(({ scenarios }) => round(scenarios?.[scenario.name]?.[side] ?? Number.NaN)));
      expect({ long: scenario.recorded.long, short: scenario.recorded.short }).toEqual({
        long: worst('long'),
        short: worst('short'),
      });
    }
  });
});
