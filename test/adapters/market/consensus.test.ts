import { describe, expect, it } from 'vitest';
import { ConsensusSource, consensusDay, median } from '../../../lib/adapters/market/consensus.ts';
import { InstrumentNotListedError, UnknownInstrumentError } from '../../../lib/config/instruments.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { type Candle, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { ImpliedVolatilitySeries, MarketDataSource, TimeRange } from '../../../lib/ports.ts';
import { day } from './fake-fetch.ts';

const range: TimeRange = { from: day('2024-01-01'), to: day('2024-01-06') };
const days = [0, 1, 2, 3, 4].map((i) => range.from + i * DAY_MS);

function bars(close: (i: number) => number, times: readonly number[] = days): Candle[] {
  return times.map((time, i) => {
    const c = close(i);
    return { time, open: c * 0.99, high: c * 1.02, low: c * 0.97, close: c, volume: 1_000 * (i + 1) };
  });
}

function venue(name: string, result: Candle[] | Error, iv?: ImpliedVolatilitySeries): MarketDataSource {
  return {
    name,
    candles: async (instrument) => {
      if (result instanceof Error) throw result;
      return { instrument, intervalMs: DAY_MS, candles: result, source: name };
    },
    ...(iv ? { impliedVolatility: async () => iv } : {}),
  };
}

const good = (i: number) => 40_000 + 100 * i;

describe('median and consensusDay', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('trims the farthest venue until the rest agree, so two bad feeds of four cannot win', () => {
    const entry = (venue: string, close: number) => ({
      venue,
      candle: { time: 0, open: close, high: close, low: close, close, volume: 1 },
    });
    const day = consensusDay(
      0,
      [entry('a', 100), entry('b', 100.5), entry('c', 110), entry('d', 120)],
      0.02,
      2,
    );
    expect(day.candle?.close).toBe(100.25);
    expect(day.excluded.map((e) => e.venue)).toEqual(['d', 'c']);
  });

  it('drops both of two venues that disagree: it cannot tell which is right', () => {
    const entry = (venue: string, close: number) => ({
      venue,
      candle: { time: 0, open: close, high: close, low: close, close, volume: 1 },
    });
    const day = consensusDay(0, [entry('a', 100), entry('b', 110)], 0.02, 2);
    expect(day.candle).toBeUndefined();
    expect(day.excluded.map((e) => e.venue).sort()).toEqual(['a', 'b']);
  });

  it('keeps a valid bar when field medians come from different venues', () => {
    const day = consensusDay(
      0,
      [
        { venue: 'a', candle: { time: 0, open: 100, high: 100.5, low: 99, close: 101, volume: 5 } },
        { venue: 'b', candle: { time: 0, open: 100.8, high: 101, low: 100, close: 101.2, volume: 7 } },
        { venue: 'c', candle: { time: 0, open: 101.5, high: 101.6, low: 101, close: 101.1, volume: 900 } },
      ],
      0.02,
      2,
    );
    expect(day.candle).toEqual({ time: 0, open: 100.8, high: 101.1, low: 100, close: 101.1, volume: 7 });
  });
});

describe('ConsensusSource', () => {
  it('is named after its venues', () => {
    const source = new ConsensusSource([venue('deribit', []), venue('binance', []), venue('coinbase', [])]);
    expect(source.name).toBe('consensus(deribit,binance,coinbase)');
  });

  it('excludes and flags a venue 10% off; the median is what the good venues say', async () => {
    const source = new ConsensusSource([
      venue('deribit', bars(good)),
      venue(
        'binance',
        bars((i) => good(i) * 1.1),
      ),
      venue('coinbase', bars(good)),
    ]);
    const series = await source.candles('BTC', range);
    expect(series.source).toBe('consensus(deribit,binance,coinbase)');
    expect(series.candles.map((c) => c.close)).toEqual(days.map((_, i) => good(i)));
    expect(series.candles.map((c) => c.time)).toEqual(days);
    const binance = series.venueReport.find((v) => v.venue === 'binance');
    expect(binance).toMatchObject({ status: 'disagreed', daysUsed: 0, candles: 5 });
    expect(binance?.disagreements).toHaveLength(5);
    expect(binance?.disagreements[0]?.deviation).toBeCloseTo(0.1, 10);
    expect(series.venueReport.find((v) => v.venue === 'deribit')).toMatchObject({
      status: 'ok',
      daysUsed: 5,
    });
    expect(series.issues).toEqual([
      {
        kind: 'venue-disagreed',
        venue: 'binance',
        message: expect.stringMatching(/5 day\(s\), excluded; worst 10\.0%/),
      },
    ]);
    expect(series.unconfirmedDays).toEqual([]);
  });

  it('without the bad venue gives the same candles as with it', async () => {
    const withBad = await new ConsensusSource([
      venue('a', bars(good)),
      venue(
        'b',
        bars((i) => good(i) * 1.003),
      ),
      venue(
        'c',
        bars((i) => good(i) * 0.9),
      ),
    ]).candles('BTC', range);
    const withoutBad = await new ConsensusSource([
      venue('a', bars(good)),
      venue(
        'b',
        bars((i) => good(i) * 1.003),
      ),
    ]).candles('BTC', range);
    expect(withBad.candles).toEqual(withoutBad.candles);
  });

  it('keeps the quorum when one venue fails, and reports the failure', async () => {
    const source = new ConsensusSource([
      venue('deribit', new MarketSourceError('deribit BTC: timed out', 'deribit', 'BTC')),
      venue('binance', bars(good)),
      venue('coinbase', bars(good)),
    ]);
    const series = await source.candles('BTC', range);
    expect(series.candles).toHaveLength(5);
    expect(series.venueReport[0]).toMatchObject({
      venue: 'deribit',
      status: 'failed',
      error: 'deribit BTC: timed out',
    });
    expect(series.issues.map((i) => i.kind)).toEqual(['venue-failed']);
  });

  it('throws naming every venue and why when two of three fail', async () => {
    const source = new ConsensusSource([
      venue('deribit', new MarketSourceError('deribit BTC: GET /x returned HTTP 503', 'deribit', 'BTC')),
      venue('binance', new MarketSourceError('binance BTC: timed out after 10000 ms', 'binance', 'BTC')),
      venue('coinbase', bars(good)),
    ]);
    const error = await source.candles('BTC', range).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect(error).toMatchObject({ venue: 'consensus(deribit,binance,coinbase)', instrument: 'BTC' });
    const message = (error as Error).message;
    expect(message).toContain('1 of 3 venues returned data, quorum is 2');
    expect(message).toContain('deribit failed (deribit BTC: GET /x returned HTTP 503)');
    expect(message).toContain('binance failed (binance BTC: timed out after 10000 ms)');
    expect(message).toContain('coinbase returned 5 candles');
    expect((error as Error).cause).toBeInstanceOf(AggregateError);
  });

  it('flags a stale venue, and leaves out trailing days only it cannot confirm', async () => {
    const source = new ConsensusSource([
      venue('deribit', bars(good)),
      venue('binance', bars(good, days.slice(0, 3))),
      venue('coinbase', bars(good)),
    ]);
    const series = await source.candles('BTC', range);
    expect(series.candles).toHaveLength(5);
    expect(series.venueReport.find((v) => v.venue === 'binance')).toMatchObject({
      status: 'stale',
      stale: true,
      lastCandleTime: days[2],
    });
    expect(series.issues).toContainEqual({
      kind: 'venue-stale',
      venue: 'binance',
      message: 'binance: last candle 2024-01-03, others have 2024-01-05',
    });

    // With only two venues, the days after the stale one's last candle rest on one venue: left out.
    const pair = await new ConsensusSource([
      venue('deribit', bars(good)),
      venue('binance', bars(good, days.slice(0, 3))),
    ]).candles('BTC', range);
    expect(pair.candles.map((c) => c.time)).toEqual(days.slice(0, 3));
    expect(pair.unconfirmedDays).toEqual(days.slice(3));
    expect(pair.issues.map((i) => i.kind)).toEqual(['venue-stale', 'below-quorum']);
  });

  it('uses a quorum of 1 when only one venue lists the instrument', async () => {
    const source = new ConsensusSource([
      venue('deribit', new InstrumentNotListedError('DOGE', 'deribit')),
      venue('binance', bars(good)),
    ]);
    const series = await source.candles('DOGE', range);
    expect(series.quorum).toBe(1);
    expect(series.candles).toHaveLength(5);
    expect(series.venueReport[0]).toMatchObject({ status: 'not-listed' });
  });

  it('rethrows the catalogue’s error when no venue knows the instrument', async () => {
    const unknown = new UnknownInstrumentError('XRP', ['BTC', 'ETH', 'SOL']);
    const source = new ConsensusSource([venue('a', unknown), venue('b', unknown)]);
    await expect(source.candles('XRP', range)).rejects.toBe(unknown);
  });

  it('throws when venues answer but agree on no day', async () => {
    const source = new ConsensusSource([
      venue('a', bars(good)),
      venue(
        'b',
        bars((i) => good(i) * 1.5),
      ),
    ]);
    await expect(source.candles('BTC', range)).rejects.toThrow(
      /no day between 2024-01-01 and 2024-01-05 was agreed by 2 venues within 2\.0%: a returned 5 candles, disagreed on 5 day/,
    );
  });

  it('returns an empty series for an empty range without asking for a quorum', async () => {
    const series = await new ConsensusSource([venue('a', []), venue('b', [])]).candles('BTC', {
      from: 10,
      to: 10,
    });
    expect(series.candles).toEqual([]);
  });

  it('passes implied volatility through from the venue that has it, and has none otherwise', async () => {
    const iv = { instrument: 'BTC', source: 'deribit:dvol', points: [[days[0] ?? 0, 0.5] as const] };
    const withIv = new ConsensusSource([venue('binance', bars(good)), venue('deribit', bars(good), iv)]);
    await expect(withIv.impliedVolatility?.('BTC', range)).resolves.toBe(iv);
    expect(new ConsensusSource([venue('binance', bars(good))]).impliedVolatility).toBeUndefined();
  });
});

describe('ConsensusSource: a second venue confirms a jump (issue 11 item 6)', () => {
  const RUN = Date.UTC(2023, 7, 1);
  const history = generateCandles({
    instrument: 'BTC',
    days: 400,
    endTime: RUN,
    startPrice: 30_000,
    seed: 3,
    annualVolatility: 0.3,
  });
  /** The last day printed at 3× the day before, as a real squeeze would be, by every venue that has it. */
  const squeezed = history.candles.map((c, i, all) => {
    if (i !== all.length - 1) return c;
    const close = (all[i - 1] as Candle).close * 3;
    return { ...c, close, high: close };
  });
  const range: TimeRange = { from: RUN - 400 * DAY_MS, to: RUN };

  it('accepts a 3× last day that two venues print alike, and marks accounts at it', async () => {
    // Prepare
    const market = new ConsensusSource([venue('a', squeezed), venue('b', squeezed)]);

    // Act
    const series = await market.candles('BTC', range);
    const threshold = recalibrate(DEFAULT_THRESHOLD_POLICY, series, undefined, { asOf: RUN });

    // Assess
    expect(series.confirmingVenues).toBe(2);
    expect(threshold.status).toBe('computed');
    expect(threshold.referencePrice).toBe(squeezed.at(-1)?.close);
  });

  it('holds the same day from the only venue that lists the instrument: nobody confirms it', async () => {
    // Prepare
    const market = new ConsensusSource([
      venue('a', squeezed),
      venue('b', new InstrumentNotListedError('BTC', 'b')),
    ]);

    // Act
    const series = await market.candles('BTC', range);
    const threshold = recalibrate(DEFAULT_THRESHOLD_POLICY, series, undefined, { asOf: RUN });

    // Assess
    expect(series.confirmingVenues).toBe(1);
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toContain('2023-07-31: close');
    expect(threshold.heldReason).toContain('is an unconfirmed jump: +200.0%');
    expect(threshold.referencePrice).toBe(squeezed.at(-2)?.close);
  });
});
