/**
 * Deribit (JSON-RPC over HTTP GET): daily or hourly candles from `public/get_tradingview_chart_data` and the DVOL
 * implied-volatility index from `public/get_volatility_index_data`. Shapes: market-apis.md §1.
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  InstrumentNotListedError,
  venueListing,
} from '../../config/instruments.ts';
import { MarketSourceError } from '../../domain/errors.ts';
import type { Candle, CandleSeries } from '../../domain/market/candle.ts';
import type { ImpliedVolatilitySeries, MarketDataSource, TimeRange } from '../../ports.ts';
import {
  amountNumber,
  BAR_INTERVAL_MS,
  type BarInterval,
  barWindow,
  chunkBars,
  finaliseCandles,
  priceNumber,
  type VenueSourceOptions,
} from './daily.ts';
import { type MarketHttpClient, type VenueBodyError, venueClient } from './http.ts';

export const DERIBIT_BASE_URL = 'https://www.deribit.com/api/v2';

/** `get_tradingview_chart_data`'s resolution per bar interval: `1D`, or minutes (`60` an hour). */
const DERIBIT_RESOLUTION: Readonly<Record<BarInterval, string>> = { '1d': '1D', '1h': '60' };

/** Deribit documents no row cap; third-party clients page at ≤ 5,000 candles, so we never ask for more. */
export const DERIBIT_MAX_CANDLES_PER_REQUEST = 5_000;

// Codes worth another attempt: 10028 too_many_requests (market-apis.md), and from Deribit's error-code
// list 10040 "retry" and 13028 temporarily_unavailable. Anything else (bad instrument, bad params) is final.
const RETRYABLE_DERIBIT_CODES = new Set([10028, 10040, 13028]);

const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.number(), message: z.string().optional(), data: z.unknown().optional() }),
});

/**
 * Reads Deribit's JSON-RPC error envelope, which can arrive with HTTP 200 or 4xx alike.
 *
 * @example
 * deribitBodyError({ jsonrpc: '2.0', error: { code: 10028, message: 'too_many_requests' } }); // retryable
 */
export function deribitBodyError(body: unknown): VenueBodyError | undefined {
  const parsed = errorEnvelopeSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { code, message, data } = parsed.data.error;
  const detail = data === undefined ? '' : ` ${JSON.stringify(data)}`;
  return {
    message: `JSON-RPC error ${code} ${message ?? ''}${detail}`.trim(),
    retryable: RETRYABLE_DERIBIT_CODES.has(code),
  };
}

const okChartSchema = z
  .object({
    status: z.literal('ok'),
    ticks: z.array(z.number().int()),
    open: z.array(priceNumber),
    high: z.array(priceNumber),
    low: z.array(priceNumber),
    close: z.array(priceNumber),
    volume: z.array(amountNumber),
    cost: z.array(amountNumber).optional(),
  })
  .superRefine((chart, ctx) => {
    // The arrays are zipped by index: one short array would shift every later candle.
    for (const key of ['open', 'high', 'low', 'close', 'volume', 'cost'] as const) {
      const column = chart[key];
      if (column !== undefined && column.length !== chart.ticks.length) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `has ${column.length} entries but ticks has ${chart.ticks.length}`,
        });
      }
    }
  });

/** `get_tradingview_chart_data` response: columnar arrays, or `status: "no_data"`. */
export const deribitChartResponseSchema = z.object({
  result: z.discriminatedUnion('status', [okChartSchema, z.object({ status: z.literal('no_data') })]),
});

export type DeribitChartResponse = z.output<typeof deribitChartResponseSchema>;

/**
 * Zip the columnar arrays into candles. Volume is `cost` (quote currency: USD for the inverse BTC/ETH
 * perpetuals, USDC for SOL_USDC) so it matches the other venues; without `cost`, base volume × close.
 *
 * @example
 * deribitChartCandles(deribitChartResponseSchema.parse(body)); // [{ time: 1554373800000, open: 4963.42, … }]
 */
export function deribitChartCandles(response: DeribitChartResponse): Candle[] {
  const chart = response.result;
  if (chart.status === 'no_data') return [];
  return chart.ticks.map((time, i) => {
    // Lengths were checked by the schema, so these reads are in bounds.
    const close = chart.close[i] ?? Number.NaN;
    const cost = chart.cost?.[i];
    return {
      time,
      open: chart.open[i] ?? Number.NaN,
      high: chart.high[i] ?? Number.NaN,
      low: chart.low[i] ?? Number.NaN,
      close,
      volume: cost ?? (chart.volume[i] ?? Number.NaN) * close,
    };
  });
}

/** `get_volatility_index_data` response: `[ts ms, open, high, low, close]` rows and a backwards cursor. */
export const deribitVolatilityResponseSchema = z.object({
  result: z.object({
    data: z.array(
      z.tuple([z.number().int(), priceNumber, priceNumber, priceNumber, priceNumber], z.unknown()),
    ),
    continuation: z.number().int().nullable().optional(),
  }),
});

export type DeribitVolatilityResponse = z.output<typeof deribitVolatilityResponseSchema>;

/** Above this (500% annualised) a "volatility" is a unit or feed error, not a market. */
const MAX_VOL_FRACTION = 5;

/**
 * A DVOL value as an annualised fraction. The docs' example is in fractions (0.21) but real history is in
 * vol points (56.76), so anything below 3 is taken as a fraction already (3 vol points, 3%, never
 * happens; nor does 300%). Undefined when the result is not a plausible volatility.
 *
 * @example
 * dvolToFraction(56.76); // 0.5676
 * dvolToFraction(0.21); // 0.21
 */
export function dvolToFraction(value: number): number | undefined {
  const fraction = value < 3 ? value : value / 100;
  return Number.isFinite(fraction) && fraction > 0 && fraction <= MAX_VOL_FRACTION ? fraction : undefined;
}

export interface DeribitSourceOptions extends VenueSourceOptions {
  /** @default 5 000 (the cap; larger values are clamped) */
  readonly maxCandlesPerRequest?: number;
  /** Guard against a cursor that never ends. @default 1 000 */
  readonly maxVolatilityPages?: number;
}

/**
 * Deribit candles (perpetuals, per the catalogue; daily, or hourly with `interval: '1h'`) and DVOL implied volatility.
 *
 * @example
 * const deribit = new DeribitSource();
 * const series = await deribit.candles('BTC', { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1) });
 * const dvol = await deribit.impliedVolatility('BTC', { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1) });
 */
export class DeribitSource implements MarketDataSource {
  readonly name = 'deribit';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;
  private readonly maxCandlesPerRequest: number;
  private readonly maxVolatilityPages: number;
  private readonly interval: BarInterval;

  constructor(options: DeribitSourceOptions = {}) {
    this.client = venueClient('deribit', DERIBIT_BASE_URL, options, deribitBodyError);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
    this.interval = options.interval ?? '1d';
    this.maxCandlesPerRequest = Math.min(
      DERIBIT_MAX_CANDLES_PER_REQUEST,
      Math.max(1, Math.floor(options.maxCandlesPerRequest ?? DERIBIT_MAX_CANDLES_PER_REQUEST)),
    );
    this.maxVolatilityPages = options.maxVolatilityPages ?? 1_000;
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const { instrument: instrumentName } = venueListing(this.catalogue, instrument, 'deribit');
    const intervalMs = BAR_INTERVAL_MS[this.interval];
    const rows: Candle[] = [];
    // One request per chunk, in order: the venue limit is per IP, so parallel chunks would only queue.
    for (const chunk of chunkBars(barWindow(range, intervalMs), this.maxCandlesPerRequest)) {
      const response = await this.client.getJson({
        path: '/public/get_tradingview_chart_data',
        query: {
          instrument_name: instrumentName,
          start_timestamp: chunk.firstBar,
          // Inclusive on Deribit's side; the last bar open of the chunk, so chunks never overlap.
          end_timestamp: chunk.endBar - 1,
          resolution: DERIBIT_RESOLUTION[this.interval],
        },
        schema: deribitChartResponseSchema,
        instrument,
        signal,
      });
      rows.push(...deribitChartCandles(response));
    }
    return finaliseCandles(rows, { venue: this.name, instrument, range, now: this.now }, intervalMs);
  }

  /**
   * Daily DVOL closes as annualised fractions, oldest first. Pages backwards with `continuation`.
   * Instruments without a DVOL currency in the catalogue (SOL) get an `InstrumentNotListedError`.
   */
  async impliedVolatility(
    instrument: string,
    range: TimeRange,
    signal?: AbortSignal,
  ): Promise<ImpliedVolatilitySeries> {
    const { dvolCurrency } = venueListing(this.catalogue, instrument, 'deribit');
    if (dvolCurrency === undefined) throw new InstrumentNotListedError(instrument, 'deribit DVOL');
    const byTime = new Map<number, number>();
    if (range.to <= range.from) return { instrument, source: `${this.name}:dvol`, points: [] };
    let end = range.to - 1;
    for (let page = 0; ; page++) {
      if (page >= this.maxVolatilityPages) {
        throw new MarketSourceError(
          `${this.name} ${instrument}: DVOL paging did not finish within ${this.maxVolatilityPages} pages`,
          this.name,
          instrument,
        );
      }
      const response = await this.client.getJson({
        path: '/public/get_volatility_index_data',
        query: { currency: dvolCurrency, start_timestamp: range.from, end_timestamp: end, resolution: '1D' },
        schema: deribitVolatilityResponseSchema,
        instrument,
        signal,
      });
      for (const [time, , , , close] of response.result.data) {
        const fraction = dvolToFraction(close);
        if (fraction === undefined) {
          throw new MarketSourceError(
            `${this.name} ${instrument}: DVOL close ${close} at ${new Date(time).toISOString()} is not a plausible volatility`,
            this.name,
            instrument,
          );
        }
        if (time >= range.from && time < range.to) byTime.set(time, fraction);
      }
      const continuation = response.result.continuation ?? null;
      if (continuation === null || continuation < range.from) break;
      if (continuation >= end) {
        // A cursor that does not move back would loop for ever.
        throw new MarketSourceError(
          `${this.name} ${instrument}: DVOL continuation ${continuation} does not move back from ${end}`,
          this.name,
          instrument,
        );
      }
      end = continuation;
    }
    const points = [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => [t, v] as const);
    return { instrument, source: `${this.name}:dvol`, points };
  }
}
