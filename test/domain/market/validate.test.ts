import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import {
  type CandleIssue,
  type CandleIssueCode,
  type CandleValidationRules,
  candleValidationRulesSchema,
  DEFAULT_CANDLE_VALIDATION_RULES,
  describeIssue,
  validateCandles,
} from '../../../lib/domain/market/validate.ts';
import {
  candle,
  dailySeries,
  dayAfterLast,
  gentleCloses,
  patchCandle,
  START,
  withCandles,
} from './fixtures.ts';

const rules = (overrides: Partial<CandleValidationRules> = {}): CandleValidationRules =>
  candleValidationRulesSchema.parse(overrides);

const codes = (issues: readonly CandleIssue[]): CandleIssueCode[] => issues.map((issue) => issue.code);

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);

/** 40 clean daily candles from 2023-01-01: every rule passes with the defaults. */
const clean = dailySeries(gentleCloses(40));

describe('candleValidationRulesSchema', () => {
  it('fills in the committee defaults when nothing is configured', () => {
    // Prepare / Act
    const parsed = candleValidationRulesSchema.parse({});

    // Assess
    expect(parsed).toEqual({
      minCandles: 30,
      maxGapBars: 0,
      gapAction: 'hold',
      maxStalenessBars: 2,
      spikeLogMove: Math.log(3),
      spikeReversionShare: 0.75,
      spikeAction: 'hold',
      jumpSigmas: 25,
      maxFrozenBars: 3,
    });
    expect(DEFAULT_CANDLE_VALIDATION_RULES).toEqual(parsed);
  });

  it('rejects misspelt keys and out-of-range values instead of falling back to defaults', () => {
    // Prepare
    const inputs = [
      { maxGapBar: 3 },
      { maxGapBars: -1 },
      { minCandles: 2.5 },
      { spikeLogMove: 0 },
      { gapAction: 'drop' },
    ];

    // Act
    const results = inputs.map((input) => candleValidationRulesSchema.safeParse(input).success);

    // Assess
    expect(results).toEqual([false, false, false, false, false]);
  });
});

describe('validateCandles: clean data', () => {
  it('accepts a clean series with no issues and returns every candle', () => {
    // Prepare
    const asOf = dayAfterLast(clean);

    // Act
    const report = validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess
    expect(report).toEqual({ usable: true, issues: [], candles: clean.candles });
  });

  it('accepts candles whose high or low equals the open or close exactly', () => {
    // Prepare: closing on the low (BTC 2022-05-09 did) and opening on the high are legitimate bars.
    const series = patchCandle(clean, 5, { open: 110, high: 110, low: 90, close: 90 });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues).toEqual([]);
  });
});

describe('validateCandles: length', () => {
  it('reports an empty series as unusable', () => {
    // Prepare
    const series = withCandles(clean, []);

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toEqual([
      { instrument: 'BTC', code: 'empty', severity: 'error', message: 'no candles' },
    ]);
  });

  it('reports fewer candles than minCandles, and accepts exactly minCandles', () => {
    // Prepare
    const short = dailySeries(gentleCloses(29));
    const enough = dailySeries(gentleCloses(30));

    // Act
    const shortReport = validateCandles(short, DEFAULT_CANDLE_VALIDATION_RULES);
    const enoughReport = validateCandles(enough, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(shortReport.usable).toBe(false);
    expect(shortReport.issues).toMatchObject([
      { code: 'too-short', severity: 'error', message: 'only 29 usable candles, at least 30 needed' },
    ]);
    expect(enoughReport.usable).toBe(true);
  });
});

describe('validateCandles: values', () => {
  it('reports a NaN close with the candle time and a readable description', () => {
    // Prepare
    const series = patchCandle(clean, 4, { close: Number.NaN });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toEqual([
      {
        instrument: 'BTC',
        time: day('2023-01-05'),
        code: 'non-finite',
        severity: 'error',
        message: 'close is NaN',
      },
    ]);
    expect(report.issues.map(describeIssue)).toEqual(['BTC 2023-01-05: close is NaN']);
  });

  it('reports infinite prices and a non-finite volume as errors', () => {
    // Prepare
    const series = patchCandle(patchCandle(clean, 2, { high: Number.POSITIVE_INFINITY }), 3, {
      volume: Number.NaN,
    });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues.map(describeIssue)).toEqual([
      'BTC 2023-01-03: high is Infinity',
      'BTC 2023-01-04: volume is NaN',
    ]);
    expect(report.usable).toBe(false);
  });

  it('reports a non-finite time without pretending to know the date', () => {
    // Prepare
    const series = patchCandle(clean, 39, { time: Number.NaN });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues).toEqual([
      { instrument: 'BTC', code: 'non-finite', severity: 'error', message: 'candle #40: time is NaN' },
    ]);
  });

  it('reports zero and negative prices and a negative volume as errors', () => {
    // Prepare
    let series = patchCandle(clean, 1, { open: 0 });
    series = patchCandle(series, 2, { low: -1 });
    series = patchCandle(series, 3, { volume: -5 });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map((issue) => [issue.code, issue.severity, describeIssue(issue)])).toEqual([
      ['non-positive', 'error', 'BTC 2023-01-02: open is 0, prices must be positive'],
      ['non-positive', 'error', 'BTC 2023-01-03: low is -1, prices must be positive'],
      ['non-positive', 'error', 'BTC 2023-01-04: volume is -5, must not be negative'],
    ]);
  });

  it('only warns about a zero volume: the data stays usable', () => {
    // Prepare
    const series = patchCandle(clean, 7, { volume: 0 });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(true);
    expect(report.issues).toMatchObject([
      { code: 'non-positive', severity: 'warning', time: day('2023-01-08') },
    ]);
  });

  it('reports a high below the body, a low above it, and a high below the low', () => {
    // Prepare
    let series = patchCandle(clean, 1, { open: 100, close: 105, high: 104, low: 99 });
    series = patchCandle(series, 2, { open: 100, close: 105, high: 106, low: 101 });
    series = patchCandle(series, 3, { open: 100, close: 100, high: 90, low: 110 });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      'BTC 2023-01-02: high 104 is below max(open, close) 105',
      'BTC 2023-01-03: low 101 is above min(open, close) 100',
      'BTC 2023-01-04: high 90 is below low 110',
    ]);
  });
});

describe('validateCandles: time order and spacing', () => {
  it('reports two swapped candles as out of order, and nothing else', () => {
    // Prepare
    const candles = [...clean.candles];
    [candles[10], candles[11]] = [
      candles[11] as (typeof candles)[number],
      candles[10] as (typeof candles)[number],
    ];

    // Act
    const report = validateCandles(withCandles(clean, candles), DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      'BTC 2023-01-11: candle #12 comes after 2023-01-12 (candle #11); candles must be oldest first',
    ]);
  });

  it('reports a repeated time as a duplicate', () => {
    // Prepare
    const candles = [
      ...clean.candles.slice(0, 6),
      candle(START + 5 * DAY_MS, 101),
      ...clean.candles.slice(6),
    ];

    // Act
    const report = validateCandles(withCandles(clean, candles), DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toMatchObject([
      {
        code: 'duplicate',
        severity: 'error',
        time: day('2023-01-06'),
        message: 'candles #6 and #7 have the same time',
      },
    ]);
  });

  it('reports a missing day as a gap that holds the threshold by default', () => {
    // Prepare
    const series = withCandles(
      clean,
      clean.candles.filter((_, i) => i !== 20),
    );

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map((issue) => [issue.severity, describeIssue(issue)])).toEqual([
      ['error', 'BTC 2023-01-22: 1 missing bar after 2023-01-20 (allowed: 0)'],
    ]);
  });

  it('allows gaps up to maxGapBars, and only warns beyond them with gapAction warn', () => {
    // Prepare
    const series = withCandles(
      clean,
      clean.candles.filter((_, i) => i !== 20 && i !== 30 && i !== 31),
    );

    // Act
    const tolerant = validateCandles(series, rules({ maxGapBars: 2 }));
    const warning = validateCandles(series, rules({ maxGapBars: 1, gapAction: 'warn' }));

    // Assess
    expect(tolerant.issues).toEqual([]);
    expect(warning.usable).toBe(true);
    expect(warning.issues).toMatchObject([
      { code: 'gap', severity: 'warning', message: '2 missing bars after 2023-01-30 (allowed: 1)' },
    ]);
  });

  it('reports candles that are not a whole number of bars apart', () => {
    // Prepare
    const series = patchCandle(clean, 15, { time: START + 15.5 * DAY_MS });

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(codes(report.issues)).toEqual(['misaligned', 'misaligned']);
    expect(describeIssue(report.issues[0] as CandleIssue)).toBe(
      'BTC 2023-01-16T12:00Z: 1.5 bars after 2023-01-15; candles must be whole bars apart',
    );
  });

  it('accepts a series whose bars are all offset from UTC midnight by the same amount', () => {
    // Prepare: some venues close daily bars at 16:00 UTC (UTC+8 midnight).
    const series = withCandles(
      clean,
      clean.candles.map((c) => ({ ...c, time: c.time + 16 * 3_600_000 })),
    );

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(series));

    // Assess
    expect(report.issues).toEqual([]);
  });
});

describe('validateCandles: staleness against asOf', () => {
  const lastClose = dayAfterLast(clean); // 2023-02-10T00:00Z: the 2023-02-09 bar has just closed

  it('accepts up to maxStalenessBars missing closed bars, at any hour of the day', () => {
    // Prepare
    const asOfs = [lastClose, lastClose + 2 * DAY_MS, lastClose + 3 * DAY_MS - 1];

    // Act
    const reports = asOfs.map((asOf) => validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, asOf));

    // Assess
    expect(reports.map((report) => report.issues)).toEqual([[], [], []]);
  });

  it('reports the series as stale once one more bar has closed', () => {
    // Prepare
    const asOf = lastClose + 3 * DAY_MS;

    // Act
    const report = validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      'BTC 2023-02-09: last candle is 3 closed bars behind 2023-02-13 (allowed: 2)',
    ]);
  });

  it('with maxStalenessBars 0, a run on day D with the D−1 bar is fresh all day long', () => {
    // Prepare
    const strict = rules({ maxStalenessBars: 0 });

    // Act
    const midday = validateCandles(clean, strict, lastClose + 12 * 3_600_000);
    const nextDay = validateCandles(clean, strict, lastClose + DAY_MS);

    // Assess
    expect(midday.issues).toEqual([]);
    expect(codes(nextDay.issues)).toEqual(['stale']);
  });

  it('drops a bar that has not closed by asOf, with a warning, and judges freshness without it', () => {
    // Prepare: the venue also returned today's forming bar.
    const asOf = lastClose - 6 * 3_600_000;

    // Act
    const report = validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess
    expect(report.usable).toBe(true);
    expect(report.candles).toEqual(clean.candles.slice(0, -1));
    expect(report.issues.map((issue) => [issue.severity, describeIssue(issue)])).toEqual([
      ['warning', 'BTC 2023-02-09: bar has not closed by 2023-02-09T18:00Z (dropped)'],
    ]);
  });

  it('does not check freshness without asOf', () => {
    // Prepare / Act
    const report = validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues).toEqual([]);
  });

  it('refuses a non-finite asOf: that is a caller bug, not bad data', () => {
    // Prepare / Act / Assess
    expect(() => validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, Number.NaN)).toThrow(RangeError);
  });
});

describe('validateCandles: one-bar spikes', () => {
  /** A 10× print on 2023-01-21 that reverts the next day. */
  const spiked = patchCandle(clean, 20, { close: 1000, high: 1010 });

  it('flags a 10× one-bar spike that reverts, holding the threshold by default', () => {
    // Prepare / Act
    const report = validateCandles(spiked, DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toMatchObject([{ code: 'spike', severity: 'error', time: day('2023-01-21') }]);
    expect(describeIssue(report.issues[0] as CandleIssue)).toMatch(
      /^BTC 2023-01-21: close 1000 is a one-bar spike: \+\d+\.\d% from the previous close .*, then -\d+\.\d% on the next bar \(held\)$/,
    );
  });

  it('drops the spike with a warning when spikeAction is drop', () => {
    // Prepare / Act
    const report = validateCandles(spiked, rules({ spikeAction: 'drop' }));

    // Assess
    expect(report.usable).toBe(true);
    expect(report.issues).toMatchObject([{ code: 'spike', severity: 'warning' }]);
    expect(report.candles).toHaveLength(clean.candles.length - 1);
    expect(report.candles.map((c) => c.close)).not.toContain(1000);
  });

  it('does not flag a crash that stays down', () => {
    // Prepare: −70% in a day, then the price stays there.
    const closes = gentleCloses(40).map((close, i) => (i >= 20 ? close * 0.3 : close));

    // Act
    const report = validateCandles(dailySeries(closes), DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues).toEqual([]);
  });

  it('does not flag a jump that gives back less than spikeReversionShare of itself', () => {
    // Prepare: ×4, then −40% (gives back ln(1/0.6)/ln(4) ≈ 37% of the log move) — a repricing, not a bad print.
    const closes = gentleCloses(40).map((close, i) => (i === 20 ? close * 4 : i > 20 ? close * 2.4 : close));

    // Act
    const report = validateCandles(dailySeries(closes), DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(report.issues).toEqual([]);
  });

  it('does not flag a jump on the first or the last bar, where a reversion cannot be seen', () => {
    // Prepare
    const closes = gentleCloses(40).map((close, i) => (i === 0 || i === 39 ? close * 10 : close));

    // Act
    const report = validateCandles(dailySeries(closes), DEFAULT_CANDLE_VALIDATION_RULES);

    // Assess
    expect(codes(report.issues)).not.toContain('spike');
  });

  it('does not use a bar that has not closed by asOf to confirm a reversion (no look-ahead)', () => {
    // Prepare: the spike is on the last closed bar; only the unfinished bar after it reverts.
    const series = patchCandle(clean, 38, { close: 1000, high: 1010 });
    const asOf = dayAfterLast(clean) - 3_600_000;

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess: no spike; the 10× last closed bar is an unconfirmed jump (no next bar, no second venue).
    expect(codes(report.issues)).toEqual(['unconfirmed-jump', 'incomplete']);
  });
});

describe('validateCandles: unconfirmed jumps (issue 11 item 6)', () => {
  const tenTimesLast = patchCandle(clean, 39, { close: 1000, high: 1010 });

  it('holds a 10× last bar from a single source, naming the day, the move and its size in σ', () => {
    // Prepare / Act
    const report = validateCandles(tenTimesLast, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(clean));

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toMatchObject([
      { code: 'unconfirmed-jump', severity: 'error', time: day('2023-02-09') },
    ]);
    expect(describeIssue(report.issues[0] as CandleIssue)).toMatch(
      /^BTC 2023-02-09: close 1000 is an unconfirmed jump: \+\d+\.\d% \(\d+\.\dσ, allowed 25σ\) from the previous close [\d.]+, the last bar, and no second venue confirms it \(held\)$/,
    );
  });

  it('accepts the same bar when a second venue printed it (a consensus of two)', () => {
    // Prepare / Act
    const report = validateCandles(
      { ...tenTimesLast, confirmingVenues: 2 },
      DEFAULT_CANDLE_VALIDATION_RULES,
      dayAfterLast(clean),
    );

    // Assess
    expect(report.issues).toEqual([]);
  });

  it('accepts a move under jumpSigmas, and flags it once the committee lowers the limit', () => {
    // Prepare: +30% on the last day of a ±2% series (about 20σ).
    const squeeze = patchCandle(clean, 39, { close: 130, high: 131 });

    // Act
    const lenient = validateCandles(squeeze, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(clean));
    const strict = validateCandles(squeeze, rules({ jumpSigmas: 10 }), dayAfterLast(clean));

    // Assess
    expect(lenient.issues).toEqual([]);
    expect(codes(strict.issues)).toEqual(['unconfirmed-jump']);
  });
});

describe('validateCandles: frozen feeds (issue 11 item 7)', () => {
  /** The last `n` bars stamped with the close of the first of them and no range. */
  const frozenFor = (n: number) =>
    withCandles(
      clean,
      clean.candles.map((c, i) => {
        const stuck = clean.candles[40 - n]?.close ?? Number.NaN;
        return i < 40 - n ? c : { ...c, open: stuck, high: stuck, low: stuck, close: stuck };
      }),
    );

  it('reports a run of more than maxFrozenBars equal closes at its first day, with its length', () => {
    // Prepare / Act
    const report = validateCandles(frozenFor(4), DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(clean));

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      `BTC 2023-02-06: close ${clean.candles[36]?.close} repeated on 4 bars in a row, to 2023-02-09: a frozen feed, not a market (allowed: 3) (held)`,
    ]);
  });

  it('accepts a run of exactly maxFrozenBars', () => {
    // Prepare / Act
    const report = validateCandles(frozenFor(3), DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(clean));

    // Assess
    expect(report.issues).toEqual([]);
  });
});

describe('validateCandles: candles after the clock (issue 11 item 8)', () => {
  it('holds a series with candles opening after asOf, in one issue naming the first and how many', () => {
    // Prepare: the run's clock is 2023-02-07T00:00Z; the feed has bars to 2023-02-09.
    const asOf = day('2023-02-07');

    // Act
    const report = validateCandles(clean, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess: 02-07 opens at the clock (still forming: dropped with a warning); 02-08 and 02-09 cannot exist yet.
    expect(report.usable).toBe(false);
    expect(report.issues.map((issue) => [issue.severity, describeIssue(issue)])).toEqual([
      ['warning', 'BTC 2023-02-07: bar has not closed by 2023-02-07 (dropped)'],
      [
        'error',
        "BTC 2023-02-08: candle dated after the run's clock 2023-02-07 (2 candles, to 2023-02-09): misdated series (dates shifted, or a time-zone offset?) (held)",
      ],
    ]);
    expect(report.candles).toEqual(clean.candles.slice(0, 37));
  });
});

describe('validateCandles: reports every problem', () => {
  it('lists all problems of a badly broken series in time order, each with instrument and time', () => {
    // Prepare
    let series = patchCandle(clean, 30, { close: Number.NaN });
    series = patchCandle(series, 3, { high: 1, low: 99 });
    series = withCandles(series, [
      ...series.candles.filter((_, i) => i !== 10),
      candle(START + 2 * DAY_MS, 100),
    ]);
    const asOf = dayAfterLast(clean) + 10 * DAY_MS;

    // Act
    const report = validateCandles({ ...series, instrument: 'ETH' }, DEFAULT_CANDLE_VALIDATION_RULES, asOf);

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      'ETH 2023-01-03: candles #3 and #40 have the same time',
      'ETH 2023-01-03: candle #40 comes after 2023-02-09 (candle #39); candles must be oldest first',
      'ETH 2023-01-04: high 1 is below low 99',
      'ETH 2023-01-12: 1 missing bar after 2023-01-10 (allowed: 0)',
      'ETH 2023-01-31: close is NaN',
      'ETH 2023-02-09: last candle is 10 closed bars behind 2023-02-20 (allowed: 2)',
    ]);
  });
});

describe('describeIssue', () => {
  it('names the instrument alone for series-wide issues', () => {
    // Prepare
    const issue: CandleIssue = { instrument: 'SOL', code: 'empty', severity: 'error', message: 'no candles' };

    // Act / Assess
    expect(describeIssue(issue)).toBe('SOL: no candles');
  });
});

describe('validateCandles properties', () => {
  it('a permutation of distinct-time candles has an out-of-order issue exactly when it is not sorted', () => {
    // Prepare
    const candles = clean.candles.slice(0, 12);
    const permutation = fc.shuffledSubarray([...candles.keys()], {
      minLength: candles.length,
      maxLength: candles.length,
    });

    fc.assert(
      fc.property(permutation, (order) => {
        // Act
        const shuffled = withCandles(
          clean,
          order.map((i) => candles[i] as (typeof candles)[number]),
        );
        const report = validateCandles(shuffled, rules({ minCandles: 1 }));

        // Assess
        const sorted = order.every((value, i) => value === i);
        expect(codes(report.issues).includes('out-of-order')).toBe(!sorted);
        expect(codes(report.issues).every((code) => code === 'out-of-order')).toBe(true);
      }),
    );
  });

  it('a gently moving series never raises an issue, and one NaN close is always reported at its time', () => {
    // Prepare: every day moves 1–10% either way. Not less (a run of equal closes is a frozen feed), and
    // no sudden big move after a dead-calm month (that is an unconfirmed jump): at most 10σ here.
    const move = fc
      .tuple(fc.boolean(), fc.double({ min: 0.01, max: 0.1, noNaN: true }))
      .map(([down, size]) => (down ? -size : size));
    const walk = fc.array(move, { minLength: 30, maxLength: 80 });

    fc.assert(
      fc.property(walk, fc.nat(), (logReturns, at) => {
        let price = 100;
        const closes = logReturns.map((r) => {
          price *= Math.exp(r);
          return price;
        });
        const series = dailySeries(closes);
        const index = at % closes.length;

        // Act
        const cleanReport = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(series));
        const brokenReport = validateCandles(
          patchCandle(series, index, { close: Number.NaN }),
          DEFAULT_CANDLE_VALIDATION_RULES,
        );

        // Assess
        expect(cleanReport.issues).toEqual([]);
        expect(brokenReport.usable).toBe(false);
        expect(brokenReport.issues).toContainEqual(
          expect.objectContaining({
            code: 'non-finite',
            time: START + index * DAY_MS,
            message: 'close is NaN',
          }),
        );
      }),
    );
  });
});
