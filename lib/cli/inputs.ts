/**
 * What the command line reads: price files, policy documents and dates. Every mistake becomes a
 * `UsageError` that says what to fix.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readCandlesCsv } from '../adapters/csv-file.ts';
import { QmtError } from '../domain/errors.ts';
import type { CandleSeries } from '../domain/market/candle.ts';
import { parseThresholdPolicy } from '../domain/threshold/policy.ts';
import { type PolicyBook, parsePolicyBook } from '../domain/threshold/policy-book.ts';

/** A command-line mistake: printed without a stack trace, exit code 2. */
export class UsageError extends QmtError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `2022-01-31` → ms at that UTC day's start; anything else is a UsageError naming the option. */
export function parseDay(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(time) || new Date(time).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`${option}: expected a date like 2022-01-31, got "${value}"`);
  }
  return time;
}

/** The qmt symbol a price file stands for: `BTC-USD.csv` → `BTC`, `eth_usdt_1d.csv` → `ETH`. */
export function symbolFromPath(path: string): string {
  const stem = basename(path).replace(/\.[^.]*$/, '');
  const symbol = stem.split(/[-_ .]/)[0]?.toUpperCase() ?? '';
  if (!/^[A-Z0-9]{1,16}$/.test(symbol)) {
    throw new UsageError(
      `cannot tell the symbol from "${path}": name the file like BTC-USD.csv or pass SYMBOL=FILE`,
    );
  }
  return symbol;
}

/** `BTC=path.csv` or a bare path (symbol from the file name). */
export function parsePriceArgument(argument: string): { symbol: string; path: string } {
  const match = /^([A-Za-z0-9_-]{1,32})=(.+)$/.exec(argument);
  if (match?.[1] && match[2]) return { symbol: match[1].toUpperCase(), path: match[2] };
  return { symbol: symbolFromPath(argument), path: argument };
}

export async function loadPrices(argument: string): Promise<CandleSeries> {
  const { symbol, path } = parsePriceArgument(argument);
  return readCandlesCsv(path, symbol);
}

export type { PolicyBook };

/** The policy file `--policy` names (see `parsePolicyBook`); without one, the committee defaults. */
export async function loadPolicyBook(path: string | undefined): Promise<PolicyBook> {
  if (path === undefined) {
    const policy = parseThresholdPolicy({});
    return { policyFor: () => policy };
  }
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--policy ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parsePolicyBook(document, path);
}
