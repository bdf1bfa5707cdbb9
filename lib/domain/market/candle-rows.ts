/**
 * Candles from rows of text cells, as a CSV reader (`lib/adapters/csv-file.ts`, on csv-parse) hands them
 * over: the first row is the header, the rest are candles. Reading is strict about shape (a row that cannot
 * be read is an error naming its line) and lenient about values (NaN, zero or negative prices parse, so the
 * validator can report them with their date alongside every other problem). Quotes, delimiters, BOMs and
 * line ends are the CSV reader's business, not the domain's.
 */
import { MarketDataError } from '../errors.ts';
import { isIntradayInterval } from './aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from './candle.ts';

type CandleField = keyof Candle;

/**
 * Accepted header names per field, compared case-insensitively with spaces, `_` and `-` removed. When a
 * header has several aliases of one field (`unix` and `date`), the earlier alias in the list wins.
 * `close_time` normalises to `closetime`, so it is never mistaken for `close`.
 */
const COLUMN_ALIASES: Readonly<Record<CandleField, readonly string[]>> = {
  time: ['date', 'timestamp', 'time', 'datetime', 'opentime', 'unix', 'unixtime', 'unixtimestamp'],
  open: ['open'],
  high: ['high'],
  low: ['low'],
  close: ['close'],
  volume: ['volume', 'vol'],
};

const FIELDS = ['time', 'open', 'high', 'low', 'close', 'volume'] as const satisfies readonly CandleField[];

export interface CandleRowOptions {
  /** Recorded as the series' source; default `csv`. */
  readonly source?: string;
  /**
   * Bar length. Default: one day, unless the rows are spaced by a bar length that divides a day (1m, 5m,
   * 1h, 4h …): then that length (the most common step between consecutive rows), so intraday files are
   * aggregated to days by the model instead of read as daily bars.
   */
  readonly intervalMs?: number;
}

/**
 * Reads candle rows one at a time, so a file can be streamed: the text is never held whole, only the
 * candles. Accepts `Date,Open,High,Low,Close,Volume` (Yahoo) and exchange exports such as
 * `timestamp,open,high,low,close,volume`: any column case and order, extra columns (`Adj Close`, …). Times
 * may be `YYYY-MM-DD`, ISO date-times (`Z`, an offset, or no zone, which is read as UTC), or epoch seconds /
 * milliseconds / microseconds told apart by magnitude. Empty, `null` and `NaN` cells parse as NaN. Rows keep
 * file order (the validator reports disorder).
 *
 * @example
 * const rows = new CandleRowReader('ETH');
 * rows.row(['timestamp', 'open', 'high', 'low', 'close', 'volume'], 1);
 * rows.row(['1690761600', '1', '2', '0.5', '1.5', '10'], 2);
 * rows.finish().candles[0]?.time; // Date.UTC(2023, 6, 31)
 */
export class CandleRowReader {
  private readonly candles: Candle[] = [];
  private readonly source: string;
  private lineNumber = 0;
  private header: { readonly cells: number; readonly columns: Record<CandleField, number> } | undefined;

  constructor(
    private readonly instrument: string,
    private readonly options?: CandleRowOptions,
  ) {
    this.source = options?.source ?? 'csv';
  }

  /**
   * Read the next row; `line` is its line in the file, for errors.
   * @throws MarketDataError naming the instrument, the line and the reason for a missing or duplicated
   *   header column, a row with the wrong number of cells, or a cell that is neither a number nor a date.
   */
  row(cells: readonly string[], line: number): void {
    this.lineNumber = line;
    if (this.header === undefined) {
      this.header = { cells: cells.length, columns: locateColumns(cells, this.fail) };
      return;
    }
    const { columns } = this.header;
    if (cells.length !== this.header.cells) {
      this.fail(`expected ${this.header.cells} cells as in the header, found ${cells.length}`);
    }
    const timeCell = cells[columns.time] as string;
    const time = parseTime(timeCell) ?? this.fail(`time "${timeCell}" is not a recognised date or timestamp`);
    this.candles.push({
      time,
      open: this.number(cells, 'open', time),
      high: this.number(cells, 'high', time),
      low: this.number(cells, 'low', time),
      close: this.number(cells, 'close', time),
      volume: this.number(cells, 'volume', time),
    });
  }

  /** A malformed file at `line`, as a MarketDataError naming the instrument and the line. */
  malformed(reason: string, line: number): MarketDataError {
    return new MarketDataError(`${this.instrument}: line ${line}: ${reason}`, this.instrument);
  }

  // Methods, not closures made per row: a million-row file would make millions of them.
  private readonly fail = (reason: string, candleTime?: number): never => {
    throw new MarketDataError(
      `${this.instrument}: line ${this.lineNumber}: ${reason}`,
      this.instrument,
      candleTime,
    );
  };

  private number(cells: readonly string[], field: Exclude<CandleField, 'time'>, time: number): number {
    const columns = this.header?.columns as Record<CandleField, number>;
    const cell = cells[columns[field]] as string;
    return parseNumber(cell) ?? this.fail(`${field} "${cell}" is not a number`, time);
  }

  /**
   * The series read.
   * @throws MarketDataError when no header was read (the text is empty).
   */
  finish(): CandleSeries {
    if (this.header === undefined) {
      throw new MarketDataError(`${this.instrument}: no CSV header (the text is empty)`, this.instrument);
    }
    const intervalMs = this.options?.intervalMs ?? intradayInterval(this.candles) ?? DAY_MS;
    return { instrument: this.instrument, intervalMs, candles: this.candles, source: this.source };
  }
}

/**
 * The bar length of rows spaced by less than a day: the most common step between consecutive rows, when it
 * divides a day. Undefined otherwise (daily files, and any that are neither), which keeps one day.
 */
function intradayInterval(candles: readonly Candle[]): number | undefined {
  const steps = new Map<number, number>();
  for (let i = 1; i < candles.length; i++) {
    const step = (candles[i] as Candle).time - (candles[i - 1] as Candle).time;
    if (step > 0) steps.set(step, (steps.get(step) ?? 0) + 1);
  }
  let common: number | undefined;
  let most = 0;
  for (const [step, count] of steps) {
    if (count > most) {
      common = step;
      most = count;
    }
  }
  return common !== undefined && isIntradayInterval(common) ? common : undefined;
}

function normaliseColumnName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

function locateColumns(
  header: readonly string[],
  fail: (reason: string) => never,
): Record<CandleField, number> {
  const names = header.map(normaliseColumnName);
  const located: Partial<Record<CandleField, number>> = {};
  for (const field of FIELDS) {
    const aliases = COLUMN_ALIASES[field];
    // The first alias in preference order that the header has; two columns with that name are ambiguous.
    const alias = aliases.find((candidate) => names.includes(candidate));
    if (alias === undefined) {
      fail(`header has no ${field} column (accepted: ${aliases.join(', ')}; found: ${header.join(', ')})`);
      continue;
    }
    if (names.indexOf(alias) !== names.lastIndexOf(alias)) {
      fail(`header has more than one "${alias}" column`);
    }
    located[field] = names.indexOf(alias);
  }
  return located as Record<CandleField, number>;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A number, or NaN/±Infinity for cells that say so (or say nothing); undefined when the cell is text that
 * is not a number at all — that is a malformed file, not a bad print.
 */
function parseNumber(cell: string): number | undefined {
  if (DECIMAL.test(cell)) return Number(cell);
  const lower = cell.toLowerCase();
  if (lower === '' || lower === 'null' || lower === 'nan' || lower === 'n/a' || lower === 'na')
    return Number.NaN;
  if (/^\+?(inf|infinity)$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (/^-(inf|infinity)$/.test(lower)) return Number.NEGATIVE_INFINITY;
  return undefined;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const EPOCH = /^\d+(\.\d+)?$/;

/**
 * Epoch units by magnitude. Seconds reach 1e11 only in the year 5138 and milliseconds pass 1e11 in 1973, so
 * the ranges cannot be confused for any date a candle can have; microseconds appear in Binance's data dumps.
 */
const EPOCH_UNITS: readonly { readonly below: number; readonly toMs: number }[] = [
  { below: 1e11, toMs: 1000 },
  { below: 1e14, toMs: 1 },
  { below: 1e17, toMs: 1e-3 },
];

/** Milliseconds since the epoch, never via `Date.parse` (which reads zoneless date-times as local time). */
function parseTime(cell: string): number | undefined {
  if (EPOCH.test(cell)) {
    const value = Number(cell);
    const unit = EPOCH_UNITS.find(({ below }) => value < below);
    return unit === undefined ? undefined : Math.round(value * unit.toMs);
  }
  const dateOnly = DATE_ONLY.exec(cell);
  if (dateOnly) return utcTime(Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3]), 0, 0, 0, 0);

  const dateTime = DATE_TIME.exec(cell);
  if (!dateTime) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone = 'Z'] = dateTime;
  const local = utcTime(
    Number(year),
    Number(month),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    Number(fraction.padEnd(3, '0').slice(0, 3)),
  );
  if (local === undefined) return undefined;
  if (zone.toUpperCase() === 'Z') return local;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!offset) return undefined;
  const [, sign, offsetHours, offsetMinutes] = offset;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  // 10:00+02:00 is 08:00Z: subtract a positive offset.
  return sign === '+' ? local - offsetMs : local + offsetMs;
}

/** UTC time of calendar fields, or undefined when they do not name a real instant (2023-02-30, 25:00). */
function utcTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number | undefined {
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const date = new Date(time);
  const roundTrips =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return roundTrips ? time : undefined;
}
