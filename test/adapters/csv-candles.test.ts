import { describe, expect, it } from 'vitest';
import { parseCandlesCsv } from '../../lib/adapters/csv-file.ts';
import { MarketDataError } from '../../lib/domain/errors.ts';
import { DAY_MS, utcDay } from '../../lib/domain/market/candle.ts';

const JUL31 = Date.UTC(2023, 6, 31);
const AUG01 = Date.UTC(2023, 7, 1);

const expectedCandles = [
  { time: JUL31, open: 29278.3, high: 29489.9, low: 29131.6, close: 29230.1, volume: 11656781982 },
  { time: AUG01, open: 29230.1, high: 29600, low: 28900, close: 29500, volume: 12000000000 },
];

/** Run `parse` and return the MarketDataError it throws (failing the test if it throws nothing else). */
function parseError(parse: () => unknown): MarketDataError {
  try {
    parse();
  } catch (error) {
    if (error instanceof MarketDataError) return error;
    throw error;
  }
  throw new Error('expected a MarketDataError');
}

describe('parseCandlesCsv: formats', () => {
  it('parses the Yahoo layout with daily dates as UTC midnight', () => {
    // Prepare
    const text = [
      'Date,Open,High,Low,Close,Volume',
      '2023-07-31,29278.3,29489.9,29131.6,29230.1,11656781982',
      '2023-08-01,29230.1,29600,28900,29500,12000000000',
      '',
    ].join('\n');

    // Act
    const series = parseCandlesCsv(text, 'BTC');

    // Assess
    expect(series).toEqual({
      instrument: 'BTC',
      intervalMs: DAY_MS,
      candles: expectedCandles,
      source: 'csv',
    });
  });

  it('parses an exchange export with another column order, case, extra columns, epoch ms and CRLF', () => {
    // Prepare
    const text = [
      'timestamp,OPEN,close,Low,high,volume,close_time,Adj Close',
      `${JUL31},29278.3,29230.1,29131.6,29489.9,11656781982,${AUG01 - 1},1`,
      `${AUG01},29230.1,29500,28900,29600,1.2e10,${AUG01 + DAY_MS - 1},1`,
      '',
      '',
    ].join('\r\n');

    // Act
    const series = parseCandlesCsv(text, 'BTC', { source: 'binance', intervalMs: DAY_MS });

    // Assess
    expect(series.source).toBe('binance');
    expect(series.candles).toEqual(expectedCandles);
  });

  it('reads epoch seconds, milliseconds and microseconds by magnitude', () => {
    // Prepare
    const seconds = JUL31 / 1000;
    const text = [
      'time,open,high,low,close,volume',
      `${seconds},1,2,0.5,1.5,10`,
      `${seconds + 86_400}.0,1,2,0.5,1.5,10`,
      `${JUL31 + 2 * DAY_MS},1,2,0.5,1.5,10`,
      `${(JUL31 + 3 * DAY_MS) * 1000},1,2,0.5,1.5,10`,
    ].join('\n');

    // Act
    const times = parseCandlesCsv(text, 'ETH').candles.map((c) => utcDay(c.time));

    // Assess
    expect(times).toEqual(['2023-07-31', '2023-08-01', '2023-08-02', '2023-08-03']);
  });

  it('reads ISO date-times with Z, with an offset, with fractions, and without a zone as UTC', () => {
    // Prepare
    const text = [
      'datetime,open,high,low,close,volume',
      '2023-07-31T00:00:00Z,1,2,0.5,1.5,10',
      '2023-08-01T02:00:00+02:00,1,2,0.5,1.5,10',
      '2023-08-01T19:00:00.000-0500,1,2,0.5,1.5,10',
      '2023-08-03 00:00:00,1,2,0.5,1.5,10',
      '2023-08-04T00:00z,1,2,0.5,1.5,10',
    ].join('\n');

    // Act
    const times = parseCandlesCsv(text, 'ETH').candles.map((c) => c.time);

    // Assess
    expect(times).toEqual([0, 1, 2, 3, 4].map((n) => JUL31 + n * DAY_MS));
  });

  it('reads quoted cells, a byte-order mark and blank lines', () => {
    // Prepare
    const text =
      '\uFEFF"Date","Open","High","Low","Close","Volume","Note"\n' +
      '"2023-07-31","29278.3","29489.9","29131.6","29230.1","11656781982","says ""hi"", twice"\n\n' +
      ' 2023-08-01 , 29230.1 ,29600,28900,29500, 12000000000 ,\n\n\n';

    // Act
    const series = parseCandlesCsv(text, 'BTC');

    // Assess
    expect(series.candles).toEqual(expectedCandles);
  });

  it('keeps file order: sorting is not the parser’s business, the validator reports disorder', () => {
    // Prepare
    const text = [
      'date,open,high,low,close,volume',
      '2023-08-01,1,2,0.5,1.5,10',
      '2023-07-31,1,2,0.5,1.5,10',
    ].join('\n');

    // Act
    const series = parseCandlesCsv(text, 'SOL');

    // Assess
    expect(series.candles.map((c) => c.time)).toEqual([AUG01, JUL31]);
  });

  it('parses empty, null, NaN, infinite, zero and negative values for the validator to report', () => {
    // Prepare
    const text = [
      'Date,Open,High,Low,Close,Volume',
      '2023-07-31,,null,NaN,Infinity,-5',
      '2023-08-01,0,-inf,NULL,-1,0',
    ].join('\n');

    // Act
    const [first, second] = parseCandlesCsv(text, 'BTC').candles;

    // Assess
    expect(first).toEqual({
      time: JUL31,
      open: Number.NaN,
      high: Number.NaN,
      low: Number.NaN,
      close: Number.POSITIVE_INFINITY,
      volume: -5,
    });
    expect(second).toEqual({
      time: AUG01,
      open: 0,
      high: Number.NEGATIVE_INFINITY,
      low: Number.NaN,
      close: -1,
      volume: 0,
    });
  });

  it('returns an empty series for a header without rows (the validator reports it as empty)', () => {
    // Prepare / Act
    const series = parseCandlesCsv('Date,Open,High,Low,Close,Volume\r\n', 'BTC');

    // Assess
    expect(series.candles).toEqual([]);
  });
});

describe('parseCandlesCsv: CSV as RFC 4180 reads it (csv-parse)', () => {
  const header = 'Date,Open,High,Low,Close,Volume,Note';

  it('reads a quoted cell that spans lines as one cell, and names later lines right', () => {
    // Prepare
    const text = [
      header,
      '2023-07-31,29278.3,29489.9,29131.6,29230.1,11656781982,"exchange halted',
      'for an hour"',
      '2023-08-01,29230.1,29600,28900,29500,12000000000,',
      '2023-08-02,1,2,0.5,oops,1,',
    ].join('\n');

    // Act
    const error = parseError(() => parseCandlesCsv(text, 'BTC'));
    const series = parseCandlesCsv(text.split('\n').slice(0, 4).join('\n'), 'BTC');

    // Assess
    expect(series.candles).toEqual(expectedCandles);
    expect(error.message).toBe('BTC: line 5: close "oops" is not a number');
  });

  it('reads a file whose line ends are mixed (CRLF, LF and a lone CR)', () => {
    // Prepare
    const text = `${header}\r\n2023-07-31,29278.3,29489.9,29131.6,29230.1,11656781982,\n\r2023-08-01,29230.1,29600,28900,29500,12000000000,\r`;

    // Act
    const series = parseCandlesCsv(text, 'BTC');

    // Assess
    expect(series.candles).toEqual(expectedCandles);
  });

  it('reads a byte-order mark with CRLF and a quoted header, and keeps a quote inside an unquoted cell', () => {
    // Prepare
    const text =
      '\uFEFF"Date",Open,High,Low,Close,Volume,Note\r\n' +
      '2023-07-31,29278.3,29489.9,29131.6,29230.1,11656781982,6" gap\r\n' +
      '2023-08-01,29230.1,29600,28900,29500,12000000000,"a ""quoted"" note, with a comma"\r\n';

    // Act
    const series = parseCandlesCsv(text, 'BTC');

    // Assess
    expect(series.candles).toEqual(expectedCandles);
  });

  it('names the line an unterminated quote opens on, past blank lines', () => {
    // Prepare
    const text = [
      header,
      '2023-07-31,1,2,0.5,1.5,10,',
      '',
      '  ',
      '2023-08-01,1,2,0.5,1.5,10,"open',
      'x,y',
    ].join('\n');

    // Act
    const error = parseError(() => parseCandlesCsv(text, 'BTC'));

    // Assess
    expect(error.message).toBe('BTC: line 5: unterminated quoted cell');
  });

  it('refuses text after a closing quote, naming the line', () => {
    // Prepare
    const text = [header, '2023-07-31,1,2,0.5,1.5,10,', '2023-08-01,1,2,0.5,"1.5"x,10,'].join('\n');

    // Act
    const error = parseError(() => parseCandlesCsv(text, 'BTC'));

    // Assess
    expect(error.message).toBe('BTC: line 3: unexpected text after a quoted cell');
    expect(error.instrument).toBe('BTC');
  });
});

describe('parseCandlesCsv: malformed files name the instrument and the line', () => {
  const header = 'Date,Open,High,Low,Close,Volume';

  it.each([
    [
      'an unparseable number',
      [header, '2023-07-31,1,2,0.5,1.5,10', '2023-08-01,1,2,0.5,abc,10'],
      'BTC: line 3: close "abc" is not a number',
    ],
    [
      'a thousands separator',
      [header, '2023-07-31,1,2,0.5,"1,234.5",10'],
      'BTC: line 2: close "1,234.5" is not a number',
    ],
    [
      'too few cells',
      [header, '2023-07-31,1,2,0.5,1.5'],
      'BTC: line 2: expected 6 cells as in the header, found 5',
    ],
    [
      'too many cells',
      [header, '', '2023-07-31,1,2,0.5,1.5,10,11'],
      'BTC: line 3: expected 6 cells as in the header, found 7',
    ],
    [
      'an unrecognised date',
      [header, '07/31/2023,1,2,0.5,1.5,10'],
      'BTC: line 2: time "07/31/2023" is not a recognised date or timestamp',
    ],
    [
      'an impossible calendar date',
      [header, '2023-02-30,1,2,0.5,1.5,10'],
      'BTC: line 2: time "2023-02-30" is not a recognised date or timestamp',
    ],
    [
      'a missing date',
      [header, ',1,2,0.5,1.5,10'],
      'BTC: line 2: time "" is not a recognised date or timestamp',
    ],
    [
      'an unterminated quote',
      [header, '"2023-07-31,1,2,0.5,1.5,10'],
      'BTC: line 2: unterminated quoted cell',
    ],
    [
      'a missing column',
      ['Date,Open,High,Low,Volume', '2023-07-31,1,2,0.5,10'],
      'BTC: line 1: header has no close column (accepted: close; found: Date, Open, High, Low, Volume)',
    ],
    [
      'a duplicated column',
      ['Date,Open,High,Low,Close,close,Volume', '2023-07-31,1,2,0.5,1.5,1.5,10'],
      'BTC: line 1: header has more than one "close" column',
    ],
  ])('%s', (_, lines, message) => {
    // Prepare
    const text = lines.join('\n');

    // Act
    const error = parseError(() => parseCandlesCsv(text, 'BTC'));

    // Assess
    expect(error.message).toBe(message);
    expect(error.instrument).toBe('BTC');
  });

  it('carries the candle time when the row’s date was readable', () => {
    // Prepare
    const text = `${header}\n2023-07-31,1,2,0.5,oops,10`;

    // Act
    const error = parseError(() => parseCandlesCsv(text, 'BTC'));

    // Assess
    expect(error.candleTime).toBe(JUL31);
  });

  it('refuses empty text', () => {
    // Prepare / Act
    const error = parseError(() => parseCandlesCsv('\n\n', 'SOL'));

    // Assess
    expect(error.message).toBe('SOL: no CSV header (the text is empty)');
  });
});
