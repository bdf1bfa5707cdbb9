/**
 * The crash-day table of the valuation README: typical option books held over each shared crash day,
 * revalued at the next close with the policy's vol-up shock (no DVOL offline), their loss set against the
 * initial requirement qmt charged the day before, under the method before and after issue 17.
 *
 * Each book is one unit of underlying per option, 30 days to expiry, struck off the previous close F₀ and
 * marked at the fallback σ (the threshold's effective daily σ × √365) with the rates the default threshold
 * policy's walk-forward backtest had in force that day. Loss = value at F₁ (the crash close), one day less to
 * expiry, σ shocked up as the grid's vol-up scenario does, minus value at F₀.
 *
 * Print the table: npx tsx test/data/domain/valuation/crash-books.ts
 */
import type { Position } from '../../../../lib/domain/account/account.ts';
import { backtest } from '../../../../lib/domain/backtest/backtest.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../../lib/domain/threshold/policy.ts';
import { black76Price } from '../../../../lib/domain/valuation/black76.ts';
import type { ValuationPolicyInput } from '../../../../lib/domain/valuation/policy.ts';
import { deribitParameters, deribitVolShocks } from '../../../../lib/domain/valuation/scenarios.ts';
import { valueAccount } from '../../../../lib/domain/valuation/valuation.ts';
import { accountOf, option, snapshotOf, usd } from '../../../domain/valuation/fixtures.ts';
import { realSeries, type SharedInstrument } from '../../shared.ts';

/** The worst day of each shared crash episode (../shared/data/README.md). */
export const CRASH_DAYS = ['2020-03-12', '2021-05-19', '2022-05-11', '2022-11-09'] as const;

/** The method before issue 17 and after it, written out so the table does not follow the defaults. */
export const BEFORE: ValuationPolicyInput = {
  grid: { method: 'deribit', extremeCover: 0 },
  optionSizing: 'current-delta',
  shortOptionMinimumNetting: 'series',
};
export const AFTER: ValuationPolicyInput = {
  grid: { method: 'deribit', extremeMultiple: 8, extremeCover: 0.125 },
  optionSizing: 'scenario-path',
  shortOptionMinimumNetting: 'spreads',
};

type Leg = readonly ['call' | 'put', number, number]; // type, strike ÷ F₀, quantity

export const BOOKS: Readonly<Record<string, readonly Leg[]>> = {
  'short strangle 90/110': [
    ['put', 0.9, -1],
    ['call', 1.1, -1],
  ],
  'short put 90': [['put', 0.9, -1]],
  'short put 75': [['put', 0.75, -1]],
  'short put 51': [['put', 0.51, -1]],
  'put credit spread 90/80': [
    ['put', 0.9, -1],
    ['put', 0.8, 1],
  ],
  'long put spread 95/85': [
    ['put', 0.95, 1],
    ['put', 0.85, -1],
  ],
  'long put spread 60/50': [
    ['put', 0.6, 1],
    ['put', 0.5, -1],
  ],
};

const DAY_MS = 86_400_000;
const EXPIRY_DAYS = 30;

export interface CrashBookRow {
  readonly day: string;
  readonly instrument: SharedInstrument;
  readonly previousClose: number;
  readonly close: number;
  readonly move: number;
  readonly scanRange: number;
  readonly volatility: number;
  readonly shockedVolatility: number;
  /** Per book: the loss and the initial requirement before and after (quote, per unit of underlying). */
  readonly books: Readonly<Record<string, { loss: number; before: number; after: number }>>;
}

function requirement(
  instrument: SharedInstrument,
  mark: number,
  scanRange: number,
  dailyVolatility: number,
  legs: readonly Leg[],
  asOf: number,
  policy: ValuationPolicyInput,
): number {
  const expiry = new Date(asOf + EXPIRY_DAYS * DAY_MS).toISOString();
  const positions: Position[] = legs.map(([type, moneyness, quantity]) =>
    option(instrument, type, String(moneyness * mark), String(quantity), expiry),
  );
  const snapshot = snapshotOf(
    {
      [instrument]: {
        markPrice: mark,
        initialMarginRate: scanRange,
        maintenanceMarginRate: scanRange / 2,
        effectiveVolatility: dailyVolatility,
      },
    },
    policy,
  );
  return Number(valueAccount(accountOf(positions, [usd('1000000')]), snapshot, asOf).initialRequirement);
}

export function crashBookRows(
  instruments: readonly SharedInstrument[] = ['BTC', 'ETH', 'SOL'],
): CrashBookRow[] {
  const rows: CrashBookRow[] = [];
  for (const instrument of instruments) {
    const series = realSeries(instrument);
    const days = backtest(DEFAULT_THRESHOLD_POLICY, series).days;
    for (const day of CRASH_DAYS) {
      const i = days.findIndex((d) => d.date === day);
      const crash = days[i];
      const before = days[i - 1];
      if (!crash || !before) continue;
      const asOf = Date.parse(`${before.date}T00:00:00Z`) + DAY_MS; // the close of the day before
      const f0 = before.close;
      const f1 = crash.close;
      // The rate and σ in force for the crash day: set at the previous close (BacktestDay of the crash day).
      const scanRange = crash.initialMarginRate;
      const daily = crash.effectiveVolatility;
      const sigma = daily * Math.sqrt(365);
      const shocked = deribitVolShocks(sigma, EXPIRY_DAYS - 1, deribitParameters()).up;
      const books: Record<string, { loss: number; before: number; after: number }> = {};
      for (const [name, legs] of Object.entries(BOOKS)) {
        let loss = 0;
        for (const [type, moneyness, quantity] of legs) {
          const strike = moneyness * f0;
          const v0 = black76Price(type === 'call', f0, strike, EXPIRY_DAYS / 365, sigma);
          const v1 = black76Price(type === 'call', f1, strike, (EXPIRY_DAYS - 1) / 365, shocked);
          loss -= quantity * (v1 - v0);
        }
        books[name] = {
          loss,
          before: requirement(instrument, f0, scanRange, daily, legs, asOf, BEFORE),
          after: requirement(instrument, f0, scanRange, daily, legs, asOf, AFTER),
        };
      }
      rows.push({
        day,
        instrument,
        previousClose: f0,
        close: f1,
        move: f1 / f0 - 1,
        scanRange,
        volatility: sigma,
        shockedVolatility: shocked,
        books,
      });
    }
  }
  return rows;
}

/**
 * The README table: per day and instrument, each book's crash-day loss and the initial requirement the day
 * before under the method before → after issue 17, all in % of the previous close (a loss below 0 is a gain).
 */
export function crashBookTable(rows: readonly CrashBookRow[]): string {
  const names = Object.keys(BOOKS);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `| day | | move | R | σ → shocked | ${names.join(' | ')} |`,
    `| --- | --- | --- | --- | --- | ${names.map(() => '---').join(' | ')} |`,
  ];
  for (const row of rows) {
    const of = (x: number) => ((100 * x) / row.previousClose).toFixed(2);
    const cells = names.map((name) => {
      const b = row.books[name] as { loss: number; before: number; after: number };
      return `${of(b.loss)} / ${of(b.before)} → ${of(b.after)}`;
    });
    lines.push(
      `| ${row.day} | ${row.instrument} | ${pct(row.move)} | ${pct(row.scanRange)} | ` +
        `${pct(row.volatility)} → ${pct(row.shockedVolatility)} | ${cells.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('crash-books.ts')) {
  const rows = crashBookRows();
  console.log(crashBookTable(rows));
  console.log();
  for (const row of rows) {
    for (const [name, b] of Object.entries(row.books)) {
      console.log(
        `${row.day} ${row.instrument} ${name}: loss ${b.loss} IM before ${b.before} after ${b.after}`,
      );
    }
  }
}
