/**
 * The real price files and reference results shared by the checkouts: `../shared` beside the repository,
 * never copied into it. Only the tests under test/data read them (`npm run test:data`); `npm test` needs
 * nothing outside the repository.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCandlesCsv, readCandlesCsv } from '../../lib/adapters/csv-file.ts';
import type { CandleSeries } from '../../lib/domain/market/candle.ts';

/** The repository root (this file is test/data/shared.ts). */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** `../shared` from the repository root. */
export const SHARED_DIR = resolve(REPO_ROOT, '../shared');

/** The real daily price files, `<instrument>-USD.csv` (Date,Open,High,Low,Close,Volume). */
export const SHARED_DATA = join(SHARED_DIR, 'data');

/** Results computed outside qmt (R fGarch fits) that the tests compare against. */
export const SHARED_REFERENCE = join(SHARED_DIR, 'reference');

export type SharedInstrument = 'BTC' | 'ETH' | 'SOL';

/** The path of `<instrument>-USD.csv`. */
export function sharedPriceFile(instrument: SharedInstrument): string {
  return join(SHARED_DATA, `${instrument}-USD.csv`);
}

/** The daily candles of `<instrument>-USD.csv` through the CSV file adapter; source `file:<instrument>-USD.csv`. */
export function readShared(instrument: SharedInstrument): Promise<CandleSeries> {
  return readCandlesCsv(sharedPriceFile(instrument), instrument);
}

const seriesCache = new Map<SharedInstrument, CandleSeries>();

/** The same series through the pure parser, synchronously, parsed once per test file. */
export function realSeries(instrument: SharedInstrument): CandleSeries {
  const cached = seriesCache.get(instrument);
  if (cached) return cached;
  const text = readFileSync(sharedPriceFile(instrument), 'utf8');
  const series = parseCandlesCsv(text, instrument, { source: `file:${instrument}-USD.csv` });
  seriesCache.set(instrument, series);
  return series;
}
