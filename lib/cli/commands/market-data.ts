/**
 * Market data for a local run: the live venues when they answer, else the files named with --prices, else
 * generated data that is labelled as such everywhere it shows.
 */
import { createConsensusSource } from '../../adapters/market/index.ts';
import { type CandleSeries, DAY_MS } from '../../domain/market/candle.ts';
import { GENERATED_SOURCE, generateCandles } from '../../domain/market/generated.ts';
import { cutAtWord, forTerminal } from '../../domain/text.ts';
import type { MarketDataSource } from '../../ports.ts';
import { loadPrices } from '../inputs.ts';

/** The demo instruments and where generated prices start (seeds fixed so every run shows the same numbers). */
const DEMO_INSTRUMENTS = [
  { instrument: 'BTC', startPrice: 30_000, seed: 1, annualVolatility: 0.6 },
  { instrument: 'ETH', startPrice: 2_000, seed: 2, annualVolatility: 0.75 },
  { instrument: 'SOL', startPrice: 50, seed: 3, annualVolatility: 1.0 },
] as const;
const HISTORY_DAYS = 4 * 365;

export interface MarketDataOptions {
  readonly prices?: readonly string[];
  readonly offline?: boolean;
  /** @default the venues' consensus, with a short retry budget */
  readonly live?: MarketDataSource;
}

/** Widest data note on the terminal; `--json` carries the whole note. */
export const NOTE_WIDTH = 200;

/**
 * A data note as one terminal line: whitespace folded, cut at a word boundary, escaped. A venue error can
 * run to several hundred characters (one cause per venue); `--json` keeps it whole.
 *
 * @example
 * noteForTerminal('BTC: live venues unavailable (consensus BTC: …)');
 */
export function noteForTerminal(note: string): string {
  return forTerminal(cutAtWord(note.replace(/\s+/g, ' ').trim(), NOTE_WIDTH));
}

export async function marketData(
  options: MarketDataOptions,
  today: number,
): Promise<{ seriesList: CandleSeries[]; notes: string[] }> {
  if (options.prices && options.prices.length > 0) {
    const seriesList = await Promise.all(options.prices.map(loadPrices));
    return { seriesList, notes: seriesList.map((s) => `${s.instrument}: prices from ${s.source}`) };
  }
  const notes: string[] = [];
  const seriesList: CandleSeries[] = [];
  const live = options.offline
    ? undefined
    : (options.live ?? createConsensusSource(undefined, liveSettings()));
  for (const demo of DEMO_INSTRUMENTS) {
    if (live) {
      try {
        const series = await live.candles(demo.instrument, {
          from: today - HISTORY_DAYS * DAY_MS,
          to: today,
        });
        seriesList.push(series);
        notes.push(`${demo.instrument}: live prices from ${series.source}`);
        continue;
      } catch (error) {
        notes.push(`${demo.instrument}: live venues unavailable (${messageOf(error)})`);
      }
    }
    seriesList.push(
      generateCandles({
        instrument: demo.instrument,
        days: HISTORY_DAYS,
        endTime: today,
        startPrice: demo.startPrice,
        seed: demo.seed,
        annualVolatility: demo.annualVolatility,
      }),
    );
    notes.push(
      `${demo.instrument}: GENERATED prices: ${GENERATED_SOURCE}; pass --prices ${demo.instrument}=FILE for real data`,
    );
  }
  return { seriesList, notes };
}

/** Fail fast when there is no network: a local run should not sit through a production retry budget. */
function liveSettings() {
  return {
    http: {
      timeoutMs: 5_000,
      retryPolicy: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 1_000, deadlineMs: 8_000 },
    },
  };
}

/** The whole message: the terminal shortens it (`noteForTerminal`), `--json` prints it as it is. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
