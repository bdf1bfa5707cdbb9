/**
 * Candles from a CSV file the user names (`qmt … --prices btc.csv`): the file I/O around the pure parser.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { MarketDataError } from '../domain/errors.ts';
import type { CandleSeries } from '../domain/market/candle.ts';
import { parseCandlesCsv } from '../domain/market/csv.ts';

/**
 * Read and parse a CSV of candles (formats as {@link parseCandlesCsv}); the series' source is
 * `file:<basename>`. A missing or unreadable file is a `MarketDataError` naming the path.
 *
 * @example
 * const btc = await readCandlesCsv('../shared/data/BTC-USD.csv', 'BTC');
 * btc.source; // 'file:BTC-USD.csv'
 */
export async function readCandlesCsv(
  path: string,
  instrument: string,
  options?: { readonly intervalMs?: number },
): Promise<CandleSeries> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot be read (${error instanceof Error ? error.message : String(error)})`;
    throw new MarketDataError(`${instrument}: market data file ${path}: ${reason}`, instrument, undefined, {
      cause: error,
    });
  }
  return parseCandlesCsv(text, instrument, {
    source: `file:${basename(path)}`,
    intervalMs: options?.intervalMs,
  });
}
