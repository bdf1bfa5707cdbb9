import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Candle } from '../../../../lib/domain/market/candle.ts';
import { datedLogReturns } from '../../../../lib/domain/volatility/returns.ts';
import { REPO_ROOT } from '../../shared.ts';

/**
 * Reads the shared real price files (`../shared/data/*.csv` beside the repo, never copied into it) for the
 * volatility tests. Test-only: the domain code itself does no I/O.
 */

/**
 * Daily candles from a `Date,Open,High,Low,Close,Volume` file, its path absolute or relative to the repo
 * root, as the reference files write them (`../shared/data/ETH-USD.csv`).
 */
export function readDailyCandles(fileFromRepoRoot: string): Candle[] {
  const text = readFileSync(resolve(REPO_ROOT, fileFromRepoRoot), 'utf8');
  const lines = text.trim().split(/\r?\n/);
  return lines.slice(1).map((line) => {
    const [date, open, high, low, close, volume] = line.split(',');
    return {
      time: Date.parse(`${date}T00:00:00Z`),
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    };
  });
}

/**
 * Log returns ×`unit` (100 for percent) dated by their second close, kept when that UTC day is in
 * [from, to] inclusive: the windowing used by garch-fgarch.json.
 */
export function windowReturns(candles: readonly Candle[], from: string, to: string, unit = 1): number[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  return datedLogReturns(candles)
    .filter((r) => r.time >= start && r.time <= end)
    .map((r) => unit * r.value);
}

/** A JSON file, its path absolute or relative to the repo root. */
export function readJson<T>(fileFromRepoRoot: string): T {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, fileFromRepoRoot), 'utf8')) as T;
}
