/**
 * Candles from a CSV file the user names (`qmt … --prices btc.csv`): the file I/O around the pure parser.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { MarketDataError } from '../domain/errors.ts';
import type { CandleSeries } from '../domain/market/candle.ts';
import { CandleCsvParser } from '../domain/market/csv.ts';

/**
 * Read and parse a CSV of candles (formats as `parseCandlesCsv`), streamed; the series' source is
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
  const parser = new CandleCsvParser(instrument, {
    source: `file:${basename(path)}`,
    ...(options?.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  // Streamed line by line: a file of hundreds of MB is never one string (V8 caps strings at about 512 MB).
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
      parser.line(line);
    }
  } catch (error) {
    if (error instanceof MarketDataError) throw error; // the parser's, naming the line
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
  } finally {
    stream.destroy();
  }
  return parser.finish();
}
