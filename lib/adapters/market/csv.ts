/**
 * Daily candles from CSV files the user names, one file per instrument: the offline source for local runs
 * and backtests (and a venue a consensus can include).
 */
import { UnknownInstrumentError } from '../../config/instruments.ts';
import type { CandleSeries } from '../../domain/market/candle.ts';
import type { MarketDataSource, TimeRange } from '../../ports.ts';
import { readCandlesCsv } from '../csv-file.ts';

export interface CsvFileSourceOptions {
  /** @default `csv` */
  readonly name?: string;
  /** @default readCandlesCsv (tests inject a reader) */
  readonly read?: (path: string, instrument: string) => Promise<CandleSeries>;
}

/**
 * A `MarketDataSource` over files: `files` maps a qmt symbol to its CSV path. The series keeps the reader's
 * `source` (`file:<name>`) so an audit shows which file a threshold came from.
 *
 * @example
 * const files = new CsvFileSource({ BTC: '../shared/data/BTC-USD.csv' });
 * const btc = await files.candles('BTC', { from: Date.UTC(2022, 0, 1), to: Date.UTC(2023, 0, 1) });
 */
export class CsvFileSource implements MarketDataSource {
  readonly name: string;
  private readonly files: ReadonlyMap<string, string>;
  private readonly read: (path: string, instrument: string) => Promise<CandleSeries>;

  constructor(files: Readonly<Record<string, string>>, options: CsvFileSourceOptions = {}) {
    this.files = new Map(Object.entries(files));
    this.name = options.name ?? 'csv';
    this.read = options.read ?? ((path, instrument) => readCandlesCsv(path, instrument));
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const path = this.files.get(instrument);
    if (path === undefined) throw new UnknownInstrumentError(instrument, [...this.files.keys()].sort());
    signal?.throwIfAborted();
    const series = await this.read(path, instrument);
    // Rows pass through in file order, duplicates included: the validator must see a disordered or
    // duplicated file as it is, so it can report it rather than have it quietly repaired here.
    const candles = series.candles.filter((c) => !(c.time < range.from || c.time >= range.to));
    return { ...series, instrument, candles };
  }
}
