/**
 * A big price file end to end: 1,000,000 rows of 1-minute bars (about 694 days) written to a temporary CSV,
 * streamed through `readCandlesCsv`, validated as minute bars and aggregated to UTC days. Figures: rows read
 * per second, the aggregation's time, and the heap the parsed bars take per row. Targets are the issue's:
 * a million rows in seconds, not minutes, and memory linear in the rows.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCandlesCsv } from '../../lib/adapters/csv-file.ts';
import { aggregateToUtcDays } from '../../lib/domain/market/aggregate.ts';
import { DEFAULT_CANDLE_VALIDATION_RULES, validateCandles } from '../../lib/domain/market/validate.ts';
import type { Bench } from './types.ts';

const ROWS = 1_000_000;
const START = Date.UTC(2024, 0, 1);

async function writeMinuteFile(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('timestamp,open,high,low,close,volume\n');
  for (let i = 0; i < ROWS; i++) {
    const price = 100 + ((i * 7) % 13);
    const line = `${(START + i * 60_000) / 1000},${price},${price + 0.2},${price - 0.3},${price + 0.1},1\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

const bench: Bench = async (log) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qmt-bench-market-'));
  try {
    const file = path.join(dir, 'ETH-1m.csv');
    await writeMinuteFile(file);
    log(`wrote ${ROWS.toLocaleString('en-US')} 1-minute rows`);
    const heapBefore = process.memoryUsage().heapUsed;
    const readStart = performance.now();
    const minutes = await readCandlesCsv(file, 'ETH');
    const readMs = performance.now() - readStart;
    const heapPerRow = (process.memoryUsage().heapUsed - heapBefore) / ROWS;
    const validateStart = performance.now();
    const report = validateCandles(minutes, DEFAULT_CANDLE_VALIDATION_RULES, START + ROWS * 60_000);
    const validateMs = performance.now() - validateStart;
    const aggregateStart = performance.now();
    const aggregation = aggregateToUtcDays(minutes);
    const aggregateMs = performance.now() - aggregateStart;
    log(`${aggregation.series.candles.length} days; usable as minute bars: ${report.usable}`);
    const rowsPerSecond = ROWS / (readMs / 1000);
    return {
      title: 'Big price files: 1,000,000 1-minute rows, streamed, validated, aggregated to days',
      figures: [
        {
          name: 'read and parse',
          ours: rowsPerSecond,
          unit: 'rows/s',
          target: '≥ 100,000/s',
          met: rowsPerSecond >= 100_000,
        },
        {
          name: 'validate (minute bars)',
          ours: validateMs,
          unit: 'ms',
          target: '< 30,000',
          met: validateMs < 30_000,
        },
        {
          name: 'aggregate to UTC days',
          ours: aggregateMs,
          unit: 'ms',
          target: '< 5,000',
          met: aggregateMs < 5_000,
        },
        {
          name: 'heap per parsed row',
          ours: heapPerRow,
          unit: 'bytes',
          note: 'includes garbage not yet collected',
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
