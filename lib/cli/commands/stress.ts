/**
 * `qmt stress`: a liquidation cascade on a book (the engine: `lib/domain/stress/cascade.ts`). Reads the
 * accounts, the price files (marks, σ from the model, volume, stressed co-moves) and the policy; prints
 * the rounds, the cascade multiplier, the bad debt and who causes it.
 */
import { readFile } from 'node:fs/promises';
import type { CandleSeries } from '../../domain/market/candle.ts';
import { priceText } from '../../domain/market/mark.ts';
import {
  type CascadeReport,
  notionalText,
  runCascade,
  type StressInstrument,
} from '../../domain/stress/cascade.ts';
import { cascadeScenarios, withCascadeScenario } from '../../domain/stress/feedback.ts';
import { averageDailyVolume, dailyLogReturns, stressedCoMove } from '../../domain/stress/market.ts';
import { parseCascadePolicy } from '../../domain/stress/policy.ts';
import { forTerminal } from '../../domain/text.ts';
import type { StressScenario } from '../../domain/threshold/policy.ts';
import { formatUnits, unitsToNumber } from '../../domain/valuation/money.ts';
import { loadPolicyBook, loadPrices, UsageError } from '../inputs.ts';
import { percent, renderTable } from '../table.ts';
import { thresholdsFor } from './thresholds.ts';

export interface StressOptions {
  readonly accounts: string;
  readonly prices: readonly string[];
  readonly shock: readonly string[];
  readonly policy?: string;
}

/** Accounts with the most bad debt listed in the report. */
export const TOP_CONTRIBUTORS = 10;

/** `BTC=-0.2` or `BTC=-20%` → ['BTC', −0.2]. */
export function parseShock(argument: string): [string, number] {
  const match = /^([A-Za-z0-9_-]{1,32})=([+-]?\d+(?:\.\d+)?)(%?)$/.exec(argument);
  if (!match?.[1] || match[2] === undefined) {
    throw new UsageError(`--shock ${argument}: expected SYMBOL=MOVE, e.g. BTC=-0.2 or BTC=-20%`);
  }
  const move = Number(match[2]) / (match[3] ? 100 : 1);
  return [match[1].toUpperCase(), move];
}

/** With `stress.cascade.feedIntoMargins`: per instrument the cascade moved, its threshold before and after. */
export interface MarginFeedback {
  readonly scenario: StressScenario;
  readonly initialMarginRateBefore: number;
  readonly initialMarginRateAfter: number;
  readonly stressRateAfter: number | undefined;
  readonly activeBoundAfter: string;
}

export interface StressRun {
  readonly report: CascadeReport;
  readonly marginFeedback?: Readonly<Record<string, MarginFeedback>>;
}

/** Read the inputs, run the cascade, and (if the policy asks) feed its moves back into the thresholds. */
export async function runStressCommand(options: StressOptions): Promise<StressRun> {
  if (options.prices.length === 0) throw new UsageError('--prices: give at least one SYMBOL=FILE');
  if (options.shock.length === 0) throw new UsageError('--shock: give at least one SYMBOL=MOVE');
  const shocks: Record<string, number> = {};
  for (const argument of options.shock) {
    const [symbol, move] = parseShock(argument);
    if (symbol in shocks) throw new UsageError(`--shock: ${symbol} is shocked twice`);
    shocks[symbol] = move;
  }
  const seriesList = await Promise.all(options.prices.map(loadPrices));
  const symbols = seriesList.map((s) => s.instrument);
  if (new Set(symbols).size !== symbols.length) throw new UsageError('--prices: one file per symbol');
  const records = await readAccountRecords(options.accounts);
  const policies = await loadPolicyBook(options.policy);
  // Cascade settings span instruments: the book's default policy holds them (no instrument key is empty).
  const general = policies.policyFor('');
  const cascade = parseCascadePolicy(general.stress.cascade ?? {});
  const thresholds = thresholdsFor(seriesList, policies);
  const instruments: StressInstrument[] = seriesList.map((series, i) => {
    const threshold = thresholds[i] as (typeof thresholds)[number];
    const sigma = threshold.components.effectiveVolatility;
    const mark = series.candles.at(-1)?.close;
    if (sigma === undefined || mark === undefined || !(mark > 0)) {
      throw new UsageError(
        `--prices ${series.instrument}: the model has no volatility or no last close for it (${threshold.heldReason ?? 'no candles'})`,
      );
    }
    const volume = averageDailyVolume(series.candles, cascade.volumeWindowDays);
    return {
      symbol: series.instrument,
      threshold,
      mark,
      dailyVolatility: sigma,
      ...(volume === undefined ? {} : { averageDailyVolume: volume }),
    };
  });
  const asOf = Math.max(...seriesList.map((s) => (s.candles.at(-1)?.time ?? 0) + s.intervalMs));
  const report = runCascade({
    accounts: records,
    instruments,
    shocks,
    coMoves: coMovesOf(seriesList, Object.keys(shocks), cascade.coMoveWindowDays, cascade.tailShare),
    levels: general.levels,
    policy: cascade,
    asOf,
  });
  if (!cascade.feedIntoMargins) return { report };
  const scenarios = cascadeScenarios(report);
  const fed = thresholdsFor(seriesList, {
    policyFor: (symbol) => {
      const scenario = scenarios[symbol];
      const policy = policies.policyFor(symbol);
      return scenario === undefined ? policy : withCascadeScenario(policy, scenario);
    },
  });
  const marginFeedback: Record<string, MarginFeedback> = {};
  seriesList.forEach((series, i) => {
    const scenario = scenarios[series.instrument];
    const before = thresholds[i];
    const after = fed[i];
    if (scenario === undefined || before === undefined || after === undefined) return;
    marginFeedback[series.instrument] = {
      scenario,
      initialMarginRateBefore: before.initialMarginRate,
      initialMarginRateAfter: after.initialMarginRate,
      stressRateAfter: after.components.stressRate,
      activeBoundAfter: after.activeBound,
    };
  });
  return { report, marginFeedback };
}

function coMovesOf(
  seriesList: readonly CandleSeries[],
  shocked: readonly string[],
  windowDays: number,
  tailShare: number,
): Record<string, Record<string, number>> {
  const returns = new Map(seriesList.map((s) => [s.instrument, dailyLogReturns(s.candles)]));
  const coMoves: Record<string, Record<string, number>> = {};
  for (const follower of seriesList.map((s) => s.instrument)) {
    if (shocked.includes(follower)) continue;
    for (const symbol of shocked) {
      const a = returns.get(symbol);
      const b = returns.get(follower);
      if (a === undefined || b === undefined) continue;
      const beta = stressedCoMove(a, b, windowDays, tailShare);
      if (beta !== undefined) coMoves[follower] = { ...coMoves[follower], [symbol]: beta };
    }
  }
  return coMoves;
}

async function readAccountRecords(path: string): Promise<unknown[]> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--accounts ${path}: ${(error as Error).message}`, { cause: error });
  }
  const records = Array.isArray(document) ? document : (document as { accounts?: unknown })?.accounts;
  if (!Array.isArray(records)) {
    throw new UsageError(`--accounts ${path}: expected an array of accounts (or { "accounts": [...] })`);
  }
  return records;
}

function prices(marks: Readonly<Record<string, number>>): Record<string, string> {
  return Object.fromEntries(Object.entries(marks).map(([s, p]) => [s, priceText(p)]));
}

/**
 * The JSON report: prices and money as decimal strings (money with 8 places, as every amount qmt prints),
 * shares and multipliers as numbers, as the threshold report's rates are.
 */
export function stressJson({ report, marginFeedback }: StressRun) {
  return {
    startMarks: prices(report.startMarks),
    initialMoves: report.initialMoves,
    rounds: report.rounds.map((r) => ({
      round: r.round,
      marks: prices(r.marks),
      liquidatedAccounts: r.liquidatedAccounts,
      liquidatedNotional: Object.fromEntries(
        Object.entries(r.flows).map(([s, f]) => [s, notionalText(f.sellNotional + f.buyNotional)]),
      ),
      orders: Object.fromEntries(
        Object.entries(r.flows).map(([s, f]) => [
          s,
          { sell: notionalText(f.sellNotional), buy: notionalText(f.buyNotional) },
        ]),
      ),
      volumeShare: Object.fromEntries(Object.entries(r.flows).map(([s, f]) => [s, f.volumeShare])),
      marksAfter: prices(r.marksAfter),
    })),
    finalMarks: prices(report.finalMarks),
    cascadeMultiplier: report.cascadeMultiplier,
    badDebt: formatUnits(report.badDebtUnits),
    topContributors: report.contributors.slice(0, TOP_CONTRIBUTORS).map((c) => ({
      accountId: c.accountId,
      round: c.round,
      badDebt: formatUnits(c.badDebtUnits),
    })),
    accountsStressed: report.accountsStressed,
    accountsLiquidated: report.accountsLiquidated,
    settled: report.settled,
    ...(marginFeedback === undefined ? {} : { marginFeedback }),
    errors: report.errors,
  };
}

export function formatStress({ report, marginFeedback }: StressRun): string {
  const symbols = Object.keys(report.startMarks);
  const lines: string[] = [];
  lines.push(
    `stressed ${report.accountsStressed} accounts: ` +
      symbols
        .map((s) => {
          const m = report.initialMoves[s];
          return `${forTerminal(s)} ${priceText(report.startMarks[s] as number)} ${percent(m?.move)} (${forTerminal(m?.source ?? '')})`;
        })
        .join(', '),
  );
  lines.push('');
  const rows = report.rounds.map((r) => [
    String(r.round),
    String(r.liquidatedAccounts.length),
    ...symbols.flatMap((s) => {
      const f = r.flows[s];
      return [
        round2(r.marks[s] as number),
        f ? money(f.sellNotional + f.buyNotional) : '-',
        f ? percent(f.volumeShare ?? undefined) : '-',
      ];
    }),
  ]);
  lines.push(
    renderTable(
      ['round', 'liquidated', ...symbols.flatMap((s) => [`${s} mark`, `${s} closed out`, `${s} % of ADV`])],
      rows,
      ['right', 'right', ...symbols.flatMap(() => ['right', 'right', 'right'] as const)],
    ),
  );
  lines.push('');
  lines.push(
    `final marks: ${symbols.map((s) => `${forTerminal(s)} ${round2(report.finalMarks[s] as number)}`).join(', ')}` +
      (report.settled ? '' : ' (cut off at the policy round limit: the cascade had not settled)'),
  );
  lines.push(
    `cascade multiplier (total move / initial move): ${symbols
      .map((s) => `${forTerminal(s)} ${report.cascadeMultiplier[s]?.toFixed(3) ?? '-'}`)
      .join(', ')}`,
  );
  lines.push(
    `liquidated ${report.accountsLiquidated} of ${report.accountsStressed} accounts; bad debt ${formatUnits(report.badDebtUnits)}`,
  );
  const total = unitsToNumber(report.badDebtUnits);
  for (const c of report.contributors.slice(0, TOP_CONTRIBUTORS)) {
    const amount = unitsToNumber(c.badDebtUnits);
    lines.push(
      `  ${forTerminal(c.accountId)} (round ${c.round}): ${formatUnits(c.badDebtUnits)} (${percent(amount / total, 1)})`,
    );
  }
  for (const [symbol, f] of Object.entries(marginFeedback ?? {})) {
    lines.push(
      `fed into margins: ${forTerminal(symbol)} scenario ${forTerminal(f.scenario.name)} (${percent(f.scenario.kind === 'hypothetical' ? f.scenario.move : undefined)}): ` +
        `initial margin ${percent(f.initialMarginRateBefore)} → ${percent(f.initialMarginRateAfter)} (set by ${forTerminal(f.activeBoundAfter)})`,
    );
  }
  for (const e of report.errors.slice(0, 20))
    lines.push(`  ${e.kind} ${forTerminal(e.key)}: ${forTerminal(e.reason)}`);
  if (report.errors.length > 20)
    lines.push(`  … and ${report.errors.length - 20} more (--json lists them all)`);
  return lines.join('\n');
}

function round2(x: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function money(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
