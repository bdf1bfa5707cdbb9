/**
 * Candles from CSV: the text is read by csv-parse (quotes, delimiters, a BOM, line ends, streaming), the rows
 * are turned into candles by the domain's `CandleRowReader` (columns, dates, numbers, the line-numbered
 * errors). A file the user names (`qmt … --prices btc.csv`) is streamed; text already in memory is parsed
 * whole.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CsvError, type Options, Parser } from 'csv-parse';
import { MarketDataError } from '../domain/errors.ts';
import type { CandleSeries } from '../domain/market/candle.ts';
import { type CandleRowOptions, CandleRowReader } from '../domain/market/candle-rows.ts';

/**
 * Parse OHLCV candles from CSV text (RFC 4180: quoted cells, `""` inside quotes, a quoted cell may span
 * lines), with a BOM or not, LF, CRLF or CR line ends, blank lines skipped. Column layouts, times and values
 * as {@link CandleRowReader}. For a file, use {@link readCandlesCsv}, which streams.
 *
 * @throws MarketDataError naming the instrument, the line and the reason for a missing header column, a row
 *   with the wrong number of cells, a cell that is neither a number nor a date, or text that is not CSV
 *   (an unterminated quote).
 * @example
 * const series = parseCandlesCsv('Date,Open,High,Low,Close,Volume\n2023-07-31,1,2,0.5,1.5,100\n', 'BTC');
 * series.candles[0]?.time; // Date.UTC(2023, 6, 31)
 */
export function parseCandlesCsv(text: string, instrument: string, options?: CandleRowOptions): CandleSeries {
  const reading = new CandleCsvReading(instrument, options);
  try {
    new CandleRecordStream(reading).parseWhole(text);
  } catch (error) {
    throw reading.failure(error);
  }
  return reading.rows.finish();
}

/**
 * Read and parse a CSV of candles (formats as {@link parseCandlesCsv}), streamed; the series' source is
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
  const reading = new CandleCsvReading(instrument, {
    source: `file:${basename(path)}`,
    ...(options?.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  // Streamed: a file of hundreds of MB is never one string (V8 caps strings at about 512 MB), and the rows
  // go to the reader as they are parsed, so only the candles are kept.
  try {
    await pipeline(createReadStream(path), new CandleRecordStream(reading));
  } catch (error) {
    if (error instanceof MarketDataError || error instanceof CsvError) throw reading.failure(error);
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
  return reading.rows.finish();
}

/** One CSV read: csv-parse's options feeding a `CandleRowReader`, and its errors in the reader's words. */
class CandleCsvReading {
  readonly rows: CandleRowReader;
  /** Where the last record ended, to name the line a never-closed quote opened on. */
  private lastRecordLine = 0;
  private emptyLinesBefore = 0;
  readonly csvOptions: Options;

  constructor(instrument: string, options?: CandleRowOptions) {
    this.rows = new CandleRowReader(instrument, options);
    this.csvOptions = {
      bom: true,
      // Exports pad cells (` 2023-08-01 , 29230.1 `); spaces inside quotes are kept.
      trim: true,
      skip_empty_lines: true,
      // The reader reports a row whose cell count differs from the header's, naming the line.
      relax_column_count: true,
      // A quote inside an unquoted cell (`ab"c`) is a character, not an error.
      relax_quotes: true,
      // Every line end, even mixed in one file (csv-parse would otherwise keep the first one it meets).
      record_delimiter: ['\r\n', '\n', '\r'],
      // csv-parse counts a CRLF inside a quoted cell as two lines: a later row's line number is then one
      // higher per such line break (a quoted line break in a candle file is rare; LF inside quotes is exact).
    };
  }

  /** Hand a parsed record to the reader. */
  record(cells: string[], line: number, emptyLines: number): void {
    this.rows.row(cells, line);
    this.lastRecordLine = line;
    this.emptyLinesBefore = emptyLines;
  }

  /** The error to throw for a failed parse: the reader's own, or csv-parse's named by line and reason. */
  failure(error: unknown): unknown {
    if (!(error instanceof CsvError)) return error;
    const context = error as CsvError & { lines?: number; empty_lines?: number };
    const line = context.lines ?? 0;
    switch (error.code) {
      case 'CSV_QUOTE_NOT_CLOSED': {
        // csv-parse reports the end of the text; the quote opened on the first non-blank line after the
        // last record.
        const blankLines = (context.empty_lines ?? this.emptyLinesBefore) - this.emptyLinesBefore;
        return this.rows.malformed('unterminated quoted cell', this.lastRecordLine + blankLines + 1);
      }
      case 'CSV_INVALID_CLOSING_QUOTE':
      case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
        return this.rows.malformed('unexpected text after a quoted cell', line);
      default:
        return this.rows.malformed(`not readable as CSV (${error.message})`, line);
    }
  }
}

/**
 * csv-parse's parser, handing each record to the reader as it is pushed, with the line it ended on
 * (`info.lines`, which csv-parse keeps current as it pushes). Not `on_record` (nor `csv-parse/sync`, which
 * needs it to avoid holding every record): that builds a context object per record and halves the
 * throughput of a million-row file. Used as a stream for a file, and fed whole for text in memory.
 */
class CandleRecordStream extends Parser {
  private failed = false;
  /** Fed whole by {@link parseWhole}: nothing reads the stream side, and a reader error is thrown. */
  private whole = false;

  constructor(private readonly reading: CandleCsvReading) {
    super(reading.csvOptions);
  }

  /**
   * Parse text already in memory, synchronously: csv-parse parses each chunk it is given in one call,
   * pushing records as it goes, so the text goes in as one chunk and the end is flushed after it.
   * @throws the reader's error, or csv-parse's `CsvError`
   */
  parseWhole(text: string): void {
    this.whole = true;
    let failure: Error | null | undefined;
    const done = (error?: Error | null) => {
      failure ??= error;
    };
    this._transform(Buffer.from(text), 'utf8', done);
    if (!failure) this._flush(done);
    if (failure) throw failure;
  }

  override push(record: unknown): boolean {
    if (this.whole) {
      // Thrown from here, a reader error ends the parse (csv-parse does not catch it) and reaches the caller.
      if (record !== null) this.reading.record(record as string[], this.info.lines, this.info.empty_lines);
      return true;
    }
    if (record === null) return super.push(null);
    if (this.failed) return false;
    try {
      this.reading.record(record as string[], this.info.lines, this.info.empty_lines);
    } catch (error) {
      // Thrown from here it would escape the stream (csv-parse calls push inside _transform): end the
      // stream with it instead, so the pipeline rejects with the reader's line-numbered error.
      this.failed = true;
      this.destroy(error as Error);
    }
    return true;
  }
}
