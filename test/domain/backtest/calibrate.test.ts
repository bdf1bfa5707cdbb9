import { beforeAll, describe, expect, it } from 'vitest';
import { type BacktestScore, backtest, scoreBacktestDays } from '../../../lib/domain/backtest/backtest.ts';
import {
  type CalibrationCandidate,
  calibrate,
  DEFAULT_CALIBRATION_GRID,
  expandGrid,
  parseCalibrationGrid,
  prepareSeries,
  rankCandidates,
  walkCandidate,
} from '../../../lib/domain/backtest/calibrate.ts';
import { PolicyError } from '../../../lib/domain/errors.ts';
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';

/** Generated daily candles ending 2021-01-01 (so calendar years split them). */
function candles(instrument: string, days: number, seed: number, annualVolatility = 0.8): CandleSeries {
  return generateCandles({
    instrument,
    days,
    endTime: Date.UTC(2021, 0, 1),
    startPrice: 100,
    seed,
    annualVolatility,
  });
}

describe('calibrate: the fast walk is the backtest', () => {
  const series = candles('GEN', 520, 7);
  const policies = {
    'the default policy': DEFAULT_THRESHOLD_POLICY,
    'a buffer, λ 0.97': parseThresholdPolicy({
      antiProcyclicality: { longLookbackFloor: null, buffer: 0.25 },
      volatility: { ewmaLambda: 0.97 },
    }),
    'a rolling floor and a stressed-period floor': parseThresholdPolicy({
      antiProcyclicality: {
        longLookbackFloor: { years: 10, share: 0.3 },
        stressedPeriodFloor: { years: 1, windowDays: 60, share: 0.9 },
      },
    }),
    'a stressed weight, 2-day MPOR, separate tails': parseThresholdPolicy({
      antiProcyclicality: { longLookbackFloor: null, stressedWeight: 0.3 },
      marginPeriodOfRiskDays: 2,
      riskMeasure: { method: 'filtered-historical-simulation', symmetric: false },
      stress: { coveredShare: 0.5, scenarios: [{ name: 'drop', kind: 'hypothetical', move: -0.1 }] },
    }),
  };

  for (const [name, policy] of Object.entries(policies)) {
    it(`gives backtest's rates day for day under ${name}`, () => {
      // Act
      const exact = backtest(policy, series);
      const fast = walkCandidate(policy, prepareSeries(policy, series));

      // Assess: bit for bit, the same rule setting each rate
      expect(fast.map((d) => [d.date, d.initialMarginRate, d.activeBound])).toEqual(
        exact.days.map((d) => [d.date, d.initialMarginRate, d.activeBound]),
      );
    });
  }

  it('refuses a file the data checks reject, naming the file and the bar', () => {
    const bad = {
      ...series,
      candles: series.candles.map((c, i) => (i === 300 ? { ...c, close: -1 } : c)),
    };
    expect(() => prepareSeries(DEFAULT_THRESHOLD_POLICY, bad)).toThrow(
      /^GEN: calibration needs a clean file: GEN \d{4}-\d{2}-\d{2}: /,
    );
  });

  it('refuses a policy that weights GARCH (a daily fit per candidate would take minutes)', () => {
    const garch = parseThresholdPolicy({ volatility: { combination: { weights: { ewma: 1, garch: 1 } } } });
    expect(() => walkCandidate(garch, prepareSeries(garch, series))).toThrow(
      /GARCH and range weights must be 0/,
    );
  });
});

/** A score with every constraint met, then the given changes. */
function score(changes: Partial<BacktestScore> & { longKupiec?: number; shortChristoffersen?: number }) {
  const side = { breaches: 4, breachRate: 0.01, kupiecStatistic: 0, kupiecP: 0.5, christoffersenP: 0.5 };
  const { longKupiec, shortChristoffersen, ...rest } = changes;
  return {
    observations: 400,
    averageInitialMarginRate: 0.1,
    hindsightFixedRate: 0.1,
    efficiency: 1,
    peakToTrough: 2,
    maxIncrease1d: 1.1,
    maxIncrease5d: 1.5,
    long: {
      ...side,
      kupiecP: longKupiec ?? 0.5,
      conditionalCoverageP: 0.5,
      trafficLight: 'green',
      breachDates: [],
    },
    short: {
      ...side,
      christoffersenP: shortChristoffersen ?? 0.5,
      conditionalCoverageP: 0.5,
      trafficLight: 'green',
      breachDates: [],
    },
    ...rest,
  } as BacktestScore;
}

describe('calibrate: the choice', () => {
  it('excludes every constraint violator and picks the cheapest feasible candidate', () => {
    // Prepare: the four cheapest each break one constraint
    const candidates = [
      { id: 'kupiec', files: [{ instrument: 'A', score: score({ efficiency: 0.8, longKupiec: 0.01 }) }] },
      {
        id: 'clustered',
        files: [{ instrument: 'A', score: score({ efficiency: 0.81, shortChristoffersen: 0.04 }) }],
      },
      { id: 'swing', files: [{ instrument: 'A', score: score({ efficiency: 0.82, peakToTrough: 4.1 }) }] },
      { id: 'jump', files: [{ instrument: 'A', score: score({ efficiency: 0.83, maxIncrease5d: 2.6 }) }] },
      { id: 'dear', files: [{ instrument: 'A', score: score({ efficiency: 1.1 }) }] },
      { id: 'cheap', files: [{ instrument: 'A', score: score({ efficiency: 1.02 }) }] },
    ];

    // Act
    const ranking = rankCandidates(candidates);

    // Assess
    expect(ranking.map((r) => r.id)).toEqual(['cheap', 'dear', 'kupiec', 'clustered', 'swing', 'jump']);
    expect(ranking[0]?.violations).toEqual([]);
    expect(ranking.find((r) => r.id === 'kupiec')?.violations).toEqual(['A: Kupiec long']);
    expect(ranking.find((r) => r.id === 'clustered')?.violations).toEqual(['A: Christoffersen short']);
  });

  it('averages the cost over files and needs the constraints on every file', () => {
    const ranking = rankCandidates([
      {
        id: 'fails-on-B',
        files: [
          { instrument: 'A', score: score({ efficiency: 0.9 }) },
          { instrument: 'B', score: score({ efficiency: 0.9, peakToTrough: 5 }) },
        ],
      },
      {
        id: 'ok',
        files: [
          { instrument: 'A', score: score({ efficiency: 1.2 }) },
          { instrument: 'B', score: score({ efficiency: 1 }) },
        ],
      },
    ]);
    expect(ranking[0]).toEqual({ id: 'ok', cost: 1.1, violations: [] });
    expect(ranking[1]?.violations).toEqual(['B: peak-to-trough']);
  });
});

describe('calibrate: walk-forward never scores a day the choice has seen', () => {
  // Four years on two files (scored from late 2017, so 2019 and 2020 are the periods with a year to fit on); the last year of the second file can be swapped for another path.
  const a = candles('AAA', 1500, 11);
  const b = candles('BBB', 1500, 12);
  const base = DEFAULT_THRESHOLD_POLICY;
  const grid = parseCalibrationGrid({
    ewmaLambda: [0.94, 0.99],
    antiProcyclicality: [
      { longLookbackFloor: { years: 10, share: 0.85 } },
      { longLookbackFloor: null, buffer: 0.25 },
    ],
  });
  const candidates = expandGrid(base, grid);
  let result: ReturnType<typeof calibrate>;
  beforeAll(() => {
    result = calibrate(base, [a, b], candidates);
  }, 60_000);

  it('reports, per period, a choice fitted only on the days before it, with in- and out-of-sample figures', () => {
    expect(result.periods.map((p) => p.period)).toEqual(['2019', '2020']);
    for (const p of result.periods) {
      expect(p.fittedThrough).toBe(`${Number(p.period) - 1}-12-31`);
      for (const f of p.files) {
        expect(f.inSample?.to.slice(0, 4)).toBe(String(Number(p.period) - 1));
        expect(f.outOfSample.from.slice(0, 4)).toBe(p.period);
        expect(f.outOfSample.to.slice(0, 4)).toBe(p.period);
        expect(Number.isFinite(f.outOfSample.efficiency)).toBe(true);
      }
    }
  });

  it('makes the same choice for a year whatever happens in that year (no peeking)', () => {
    // Prepare: the 2020 days replaced by a much calmer path (prices from 2020 on are new)
    const calm = candles('BBB', 1500, 99, 0.1);
    const cut = Date.UTC(2020, 0, 1);
    const shifted = {
      ...b,
      candles: [
        ...b.candles.filter((c) => c.time < cut),
        ...rebase(
          calm.candles.filter((c) => c.time >= cut),
          b.candles.filter((c) => c.time < cut).at(-1)?.close ?? 1,
        ),
      ],
    };

    // Act
    const other = calibrate(base, [a, shifted], candidates);

    // Assess: the 2020 choice stands; its 2020 figures and the all-days winner's inputs differ
    const period = (r: typeof result) => r.periods.find((p) => p.period === '2020');
    expect(period(other)?.chosen).toBe(period(result)?.chosen);
    expect(period(other)?.files[1]?.inSample).toEqual(period(result)?.files[1]?.inSample);
    expect(period(other)?.files[1]?.outOfSample).not.toEqual(period(result)?.files[1]?.outOfSample);
  }, 60_000);

  it('chooses for each year what the ranking on the earlier days alone chooses', () => {
    // A candidate that only wins on 2020 must not be chosen for 2020: the choice equals a ranking of the
    // walks cut at 2019-12-31 by hand.
    const prepared = [a, b].map((s) => prepareSeries(base, s));
    const scores = candidates.map((c: CalibrationCandidate) => ({
      id: c.id,
      files: prepared.map((p) => {
        const days = walkCandidate(c.policy, p).filter((d) => d.date < '2020-01-01');
        return { instrument: p.series.instrument, score: scoreOf(days) };
      }),
    }));
    expect(result.periods.find((p) => p.period === '2020')?.chosen).toBe(rankCandidates(scores)[0]?.id);
  }, 60_000);
});

describe('calibrate: leave-one-period-out never scores a year its choice has seen', () => {
  const a = candles('AAA', 1500, 11);
  const b = candles('BBB', 1500, 12);
  const base = DEFAULT_THRESHOLD_POLICY;
  const candidates = expandGrid(
    base,
    parseCalibrationGrid({
      ewmaLambda: [0.94, 0.99],
      antiProcyclicality: [
        { longLookbackFloor: { years: 10, share: 0.85 } },
        { longLookbackFloor: null, buffer: 0.25 },
      ],
    }),
  );

  it('chooses for each year what the ranking on every other year chooses, and scores that year only', () => {
    // Act
    const result = calibrate(base, [a, b], candidates, { validation: 'leave-one-period-out' });

    // Assess: every scored year is a period (the first one too: later years fit it)
    expect(result.validation).toBe('leave-one-period-out');
    const prepared = [a, b].map((s) => prepareSeries(base, s));
    const walks = candidates.map((c) => prepared.map((p) => walkCandidate(c.policy, p)));
    const years = [...new Set(walks.flat(2).map((d) => d.date.slice(0, 4)))].sort();
    expect(result.periods.map((p) => p.period)).toEqual(years);
    for (const period of result.periods) {
      const scores = candidates.map((c, ci) => ({
        id: c.id,
        files: prepared.map((p, fi) => ({
          instrument: p.series.instrument,
          score: scoreOf((walks[ci]?.[fi] ?? []).filter((d) => !d.date.startsWith(period.period))),
        })),
      }));
      expect(period.chosen).toBe(rankCandidates(scores)[0]?.id);
      for (const f of period.files) {
        expect(f.outOfSample.from.slice(0, 4)).toBe(period.period);
        expect(f.outOfSample.to.slice(0, 4)).toBe(period.period);
      }
    }
  }, 60_000);
});

describe('calibrate: the grid', () => {
  it('makes 28 candidates from the default grid, all valid policies', () => {
    const candidates = expandGrid(DEFAULT_THRESHOLD_POLICY, DEFAULT_CALIBRATION_GRID);
    expect(candidates).toHaveLength(28);
    expect(new Set(candidates.map((c) => c.label)).size).toBe(28);
  });

  it('gives each design the stressed-period floor it names, whatever the base policy has', () => {
    // Prepare: a base policy with a stressed-period floor of its own
    const base = parseThresholdPolicy({
      antiProcyclicality: { stressedPeriodFloor: { years: 4, windowDays: 100, share: 0.4 } },
    });

    // Act
    const candidates = expandGrid(base, DEFAULT_CALIBRATION_GRID);

    // Assess: the plain ten-year floor is plain; the rolling floor is the grid's
    const apc = (label: string) => candidates.find((c) => c.label === label)?.policy.antiProcyclicality;
    expect(apc('λ 0.99, floor 10y×0.85, stress 0.25')?.stressedPeriodFloor).toBeNull();
    expect(apc('λ 0.99, floor 10y×0.5 rolling floor 2y×0.85, stress 0')?.stressedPeriodFloor).toEqual({
      years: 2,
      windowDays: 730,
      share: 0.85,
    });
  });

  it('names the grid entry that is wrong', () => {
    expect(() => parseCalibrationGrid({ ewmaLambda: [0.9, 1.5] })).toThrow(/grid\.ewmaLambda\.1/);
    expect(() => parseCalibrationGrid({ ewmaLamda: [0.9] })).toThrow(/grid\.ewmaLamda/);
    const grid = parseCalibrationGrid({ stepLimits: [{ maxDecrease: 0.05 }, { maxDecrease: 2 }] });
    const error = (() => {
      try {
        expandGrid(DEFAULT_THRESHOLD_POLICY, grid);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).path).toBe('grid.stepLimits.1');
  });

  it('names the candidate a combination of valid values makes invalid (EMIR Art. 28)', () => {
    const grid = parseCalibrationGrid({ antiProcyclicality: [{ longLookbackFloor: null }] });
    expect(() => expandGrid(DEFAULT_THRESHOLD_POLICY, grid)).toThrow(/grid candidate c01 .*EMIR Art\. 28/);
  });
});

function scoreOf(days: Parameters<typeof scoreBacktestDays>[0]): BacktestScore {
  return scoreBacktestDays(days, 0.99);
}

/** The same path of returns, starting from `from`. */
function rebase(list: CandleSeries['candles'], from: number): CandleSeries['candles'] {
  const scale = from / (list[0]?.open ?? 1);
  return list.map((c) => ({
    ...c,
    open: c.open * scale,
    high: c.high * scale,
    low: c.low * scale,
    close: c.close * scale,
  }));
}
