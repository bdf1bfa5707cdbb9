import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../lib/adapters/csv-file.ts';
import { MarketDataError } from '../../lib/domain/errors.ts';

describe('readCandlesCsv', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'qmt-csv-file-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file the user wrote, with CRLF line ends', async () => {
    // Prepare
    const file = path.join(dir, 'eth daily.csv');
    await writeFile(file, 'timestamp,open,high,low,close,volume\r\n1690761600,1,2,0.5,1.5,10\r\n');

    // Act
    const series = await readCandlesCsv(file, 'ETH');

    // Assess
    expect(series.source).toBe('file:eth daily.csv');
    expect(series.candles).toEqual([
      { time: Date.UTC(2023, 6, 31), open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
    ]);
  });

  it('reports a missing file as a MarketDataError naming the instrument and the path', async () => {
    // Prepare
    const file = path.join(dir, 'nope.csv');

    // Act
    const failure = readCandlesCsv(file, 'BTC');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(MarketDataError);
    await expect(failure).rejects.toMatchObject({
      instrument: 'BTC',
      message: `BTC: market data file ${file}: file not found`,
    });
  });

  it('reports a directory given as the file', async () => {
    // Prepare / Act
    const failure = readCandlesCsv(dir, 'BTC');

    // Assess
    await expect(failure).rejects.toMatchObject({
      message: `BTC: market data file ${dir}: is a directory, not a file`,
    });
  });

  it('passes a malformed row through as the parser’s line-numbered error', async () => {
    // Prepare
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'Date,Open,High,Low,Close,Volume\n2023-07-31,1,2,0.5,x,10\n');

    // Act
    const failure = readCandlesCsv(file, 'BTC');

    // Assess
    await expect(failure).rejects.toMatchObject({ message: 'BTC: line 2: close "x" is not a number' });
  });
  it('names the line of a bad row deep in a file read in many chunks, past blank lines and a quoted line break', async () => {
    // Prepare: about 1 MB, so csv-parse sees the file in many chunks
    const file = path.join(dir, 'big.csv');
    // CRLF line ends, an LF inside the quoted note (csv-parse counts a CRLF inside quotes as two lines).
    const rows = ['timestamp,open,high,low,close,volume,note', '', '1690761600,1,2,0.5,1.5,10,"two\nlines"'];
    for (let i = 1; i < 20_000; i++) rows.push(`${1690761600 + i * 60},1,2,0.5,1.5,10,padding padding`);
    rows.push('', `${1690761600 + 20_000 * 60},1,2,0.5,x,10,`);
    await writeFile(file, rows.join('\r\n'));

    // Act
    const failure = readCandlesCsv(file, 'ETH');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(MarketDataError);
    await expect(failure).rejects.toMatchObject({
      message: `ETH: line ${rows.length + 1}: close "x" is not a number`,
    });
  });

  it('reads every row of a file read in many chunks, a quoted cell spanning lines included', async () => {
    // Prepare
    const file = path.join(dir, 'big-good.csv');
    const rows = [
      '\uFEFFtimestamp,open,high,low,close,volume,note',
      '1690761600,1,2,0.5,1.5,10,"two',
      'lines"',
    ];
    for (let i = 1; i < 20_000; i++) rows.push(`${1690761600 + i * 60},1,2,0.5,1.5,10,`);
    await writeFile(file, `${rows.join('\n')}\n`);

    // Act
    const series = await readCandlesCsv(file, 'ETH');

    // Assess
    expect(series.candles).toHaveLength(20_000);
    expect(series.intervalMs).toBe(60_000);
    expect(series.candles.at(-1)?.time).toBe((1690761600 + 19_999 * 60) * 1000);
  });
});
