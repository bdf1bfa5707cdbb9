/**
 * A liquidation cascade on the book: the shock, the accounts it puts in LIQUIDATION, their positions
 * closed out as market orders, the square-root impact of those orders on the marks, and again, until no
 * new account is liquidated or the policy's round limit is reached.
 *
 *  1. Round 0: each shocked instrument moves by its shock; every other instrument by its stressed co-move
 *     on the shocked one that moves it most (in log terms, so no price crosses zero).
 *  2. Every account still standing is valued (`valuerFor`, the sweep's valuation) and put through the
 *     margin levels; those in LIQUIDATION are closed out.
 *  3. Their futures become market orders, summed per instrument and side. The net of all orders so far
 *     moves each mark by Δp/p = Y·σ·√(Q/V) from its round-0 price (cumulative, as a metaorder's impact is).
 *  4. Bad debt: a closed-out account's equity below zero at the final, impacted marks.
 *
 * Pure: accounts, prices and settings in, report out.
 */
import { type Account, accountSchema } from '../account/account.ts';
import { type MarginLevels, marginStateFor, ratioForState } from '../account/state-machine.ts';
import { priceText } from '../market/mark.ts';
import type { Threshold, ThresholdSet } from '../threshold/threshold.ts';
import {
  compareUnits,
  formatUnits,
  subtractUnits,
  UnitSum,
  type Units,
  unitsUp,
} from '../valuation/money.ts';
import type { ValuationPolicyInput } from '../valuation/policy.ts';
import { marketSnapshotFromSet } from '../valuation/snapshot.ts';
import { valuerFor } from '../valuation/valuation.ts';
import { StressInputError } from './errors.ts';
import type { CascadePolicy } from './policy.ts';

export interface StressInstrument {
  readonly symbol: string;
  /** Risk parameters the accounts are margined on (the threshold the model computed). */
  readonly threshold: Threshold;
  /** Mark before the shock (quote currency). */
  readonly mark: number;
  /** σ, daily, from the model: scales the impact and a measured co-move given as a correlation. */
  readonly dailyVolatility: number;
  /** V in the policy's volume unit; absent or 0: the instrument is refused for impact, and named. */
  readonly averageDailyVolume?: number;
}

export interface CascadeInput {
  /** Raw account records: each is checked here; a bad one is reported and the rest are stressed. */
  readonly accounts: readonly unknown[];
  readonly instruments: readonly StressInstrument[];
  /** Relative move per shocked symbol: −0.3 is a 30% fall. */
  readonly shocks: Readonly<Record<string, number>>;
  /** follower → shocked → slope of log returns on stressed days (`stressedCoMove`). */
  readonly coMoves?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly levels: MarginLevels;
  readonly policy: CascadePolicy;
  /** Valuation time (epoch ms): option expiries are measured from it. */
  readonly asOf: number;
  readonly valuationPolicy?: ValuationPolicyInput;
}

export interface StressError {
  readonly kind: 'account-rejected' | 'account-unvaluable' | 'no-volume' | 'no-co-move' | 'no-mark';
  /** Account id (or `#index` of a record without one) or instrument symbol. */
  readonly key: string;
  readonly reason: string;
}

export interface InstrumentFlow {
  /** Quote notional sold (closing longs) and bought (closing shorts) this round, at the round's marks. */
  readonly sellNotional: number;
  readonly buyNotional: number;
  /** Sold + bought this round as a share of the average daily volume; null when V is unknown. */
  readonly volumeShare: number | null;
}

export interface StressRound {
  readonly round: number;
  /** The marks the accounts were valued at in this round. */
  readonly marks: Readonly<Record<string, number>>;
  readonly liquidatedAccounts: readonly string[];
  readonly flows: Readonly<Record<string, InstrumentFlow>>;
  /** The marks after this round's orders (the next round's marks). */
  readonly marksAfter: Readonly<Record<string, number>>;
}

export interface BadDebtContributor {
  readonly accountId: string;
  readonly round: number;
  /** −equity at the close-out marks, minor units (10⁻⁸ quote). */
  readonly badDebtUnits: Units;
}

export interface CascadeReport {
  readonly startMarks: Readonly<Record<string, number>>;
  /** The move each instrument took in round 0 (relative) and where it came from. */
  readonly initialMoves: Readonly<Record<string, { readonly move: number; readonly source: string }>>;
  readonly rounds: readonly StressRound[];
  readonly finalMarks: Readonly<Record<string, number>>;
  /** Total move / initial move per instrument; null for an instrument the shock did not move. */
  readonly cascadeMultiplier: Readonly<Record<string, number | null>>;
  readonly badDebtUnits: Units;
  /** Accounts with bad debt, largest first. */
  readonly contributors: readonly BadDebtContributor[];
  readonly accountsStressed: number;
  readonly accountsLiquidated: number;
  /** False when the round limit cut the cascade off while accounts were still being liquidated. */
  readonly settled: boolean;
  readonly errors: readonly StressError[];
}

/** An account the cascade has not closed out yet, with the prices its value depends on. */
export interface StandingAccount {
  readonly account: Account;
  /** Instruments and assets the account's value depends on. */
  readonly symbols: readonly string[];
}

/** The market side of a cascade: everything but the accounts (a fanned-out run sends only this). */
export type CascadeMarket = Omit<CascadeInput, 'accounts'>;

/** What every round of one cascade shares: the instruments, the start and round-0 marks, the valuer. */
export interface CascadePlan {
  readonly market: CascadeMarket;
  readonly bySymbol: ReadonlyMap<string, StressInstrument>;
  readonly startMarks: Readonly<Record<string, number>>;
  readonly round0: Readonly<Record<string, number>>;
  readonly initialMoves: Readonly<Record<string, { readonly move: number; readonly source: string }>>;
}

/** Close-out orders on one instrument: quote notional and quantity sold (longs) and bought (shorts). */
export interface CloseOutFlow {
  sellNotional: number;
  buyNotional: number;
  sellQuantity: number;
  buyQuantity: number;
}

/** The net close-out orders so far per instrument (the impact is cumulative) and the instruments named for having no volume. */
export interface ImpactState {
  readonly netNotional: Record<string, number>;
  readonly netQuantity: Record<string, number>;
  readonly noVolumeNamed: string[];
}

export function emptyImpactState(): ImpactState {
  return { netNotional: {}, netQuantity: {}, noVolumeNamed: [] };
}

/**
 * Check the shocks and compute the round-0 marks. Throws `StressInputError` for a shock on an instrument
 * without prices, a move that is not above −100%, or no shock at all; an instrument without a co-move is
 * named in `errors`.
 */
export function planCascade(market: CascadeMarket, errors: StressError[]): CascadePlan {
  const bySymbol = new Map(market.instruments.map((i) => [i.symbol, i]));
  checkShocks(market.shocks, bySymbol);
  const startMarks: Record<string, number> = {};
  for (const i of market.instruments) startMarks[i.symbol] = i.mark;
  const { marks: round0, moves: initialMoves } = shockedMarks(market, bySymbol, errors);
  return { market, bySymbol, startMarks, round0, initialMoves };
}

function valuerAt(plan: CascadePlan, marks: Readonly<Record<string, number>>) {
  const { market } = plan;
  const set: ThresholdSet = {
    setId: 'stress',
    runId: 'stress',
    createdAt: new Date(market.asOf).toISOString(),
    thresholds: market.instruments.map((i) => i.threshold),
  };
  return valuerFor(
    marketSnapshotFromSet(set, {
      markPrices: marks,
      ...(market.valuationPolicy === undefined ? {} : { policy: market.valuationPolicy }),
    }),
  );
}

/**
 * One round's valuation of the accounts still standing (all of them, or one segment's): those in
 * LIQUIDATION and the survivors. `changed` (undefined in round 0) skips accounts none of whose prices
 * moved: their state cannot have changed. An account that cannot be valued is named and dropped.
 */
export function valueRound(
  plan: CascadePlan,
  standing: readonly StandingAccount[],
  marks: Readonly<Record<string, number>>,
  changed: ReadonlySet<string> | undefined,
  errors: StressError[],
): { liquidated: StandingAccount[]; survivors: StandingAccount[] } {
  const valuer = valuerAt(plan, marks);
  const liquidated: StandingAccount[] = [];
  const survivors: StandingAccount[] = [];
  for (const entry of standing) {
    if (changed !== undefined && !entry.symbols.some((s) => changed.has(s))) {
      survivors.push(entry); // no price it depends on moved: its state cannot have changed
      continue;
    }
    try {
      const valuation = valuer.value(entry.account, plan.market.asOf);
      const state = marginStateFor(ratioForState(valuation), plan.market.levels);
      (state === 'LIQUIDATION' ? liquidated : survivors).push(entry);
    } catch (error) {
      errors.push({
        kind: 'account-unvaluable',
        key: entry.account.accountId,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return { liquidated, survivors };
}

/**
 * The reduce step: a round's close-out orders (summed over the whole book) move the marks by the
 * square-root law from their round-0 price, on the net of every order so far (updated in `state`).
 * Returns the next round's marks, the instruments whose mark moved, and the round's flows as reported.
 */
export function applyImpact(
  plan: CascadePlan,
  state: ImpactState,
  flows: ReadonlyMap<string, CloseOutFlow>,
  marks: Readonly<Record<string, number>>,
  errors: StressError[],
): {
  marksAfter: Record<string, number>;
  moved: Set<string>;
  flows: Record<string, InstrumentFlow>;
} {
  const { policy } = plan.market;
  const marksAfter: Record<string, number> = { ...marks };
  const moved = new Set<string>();
  for (const [symbol, flow] of flows) {
    state.netNotional[symbol] = (state.netNotional[symbol] ?? 0) + flow.buyNotional - flow.sellNotional;
    state.netQuantity[symbol] = (state.netQuantity[symbol] ?? 0) + flow.buyQuantity - flow.sellQuantity;
    const instrument = plan.bySymbol.get(symbol) as StressInstrument;
    const volume = instrument.averageDailyVolume;
    if (volume === undefined || !(volume > 0)) {
      if (!state.noVolumeNamed.includes(symbol)) {
        state.noVolumeNamed.push(symbol);
        errors.push({
          kind: 'no-volume',
          key: symbol,
          reason: `${symbol} has no traded volume in the price file's window: its close-outs are counted but move no price`,
        });
      }
      continue;
    }
    const net = policy.volumeUnit === 'quote' ? state.netNotional[symbol] : state.netQuantity[symbol];
    const impact = squareRootImpact(
      policy.impactCoefficient,
      instrument.dailyVolatility,
      Math.abs(net ?? 0),
      volume,
    );
    const next = (plan.round0[symbol] as number) * Math.exp(Math.sign(net ?? 0) * impact);
    if (next !== marks[symbol]) moved.add(symbol);
    marksAfter[symbol] = next;
  }
  const reported = Object.fromEntries(
    [...flows].map(([symbol, f]) => {
      const volume = plan.bySymbol.get(symbol)?.averageDailyVolume;
      const traded =
        policy.volumeUnit === 'quote' ? f.sellNotional + f.buyNotional : f.sellQuantity + f.buyQuantity;
      return [
        symbol,
        {
          sellNotional: f.sellNotional,
          buyNotional: f.buyNotional,
          volumeShare: volume !== undefined && volume > 0 ? traded / volume : null,
        },
      ];
    }),
  );
  return { marksAfter, moved, flows: reported };
}

/**
 * Bad debt of closed-out accounts at the final marks: each one whose equity is below zero, with its
 * −equity (unsorted). Every close-out is priced at the final marks: the liquidation engine's orders
 * execute while the cascade runs, and the end of it is the worst price they meet (and keeps bad debt
 * monotone in the shock).
 */
export function badDebtAt(
  plan: CascadePlan,
  closedOut: readonly { readonly entry: StandingAccount; readonly round: number }[],
  finalMarks: Readonly<Record<string, number>>,
  errors: StressError[],
): BadDebtContributor[] {
  const contributors: BadDebtContributor[] = [];
  if (closedOut.length === 0) return contributors;
  const atFinal = valuerAt(plan, finalMarks);
  for (const { entry, round } of closedOut) {
    try {
      const equity = atFinal.value(entry.account, plan.market.asOf).equityUnits;
      if (compareUnits(equity, 0) < 0) {
        contributors.push({
          accountId: entry.account.accountId,
          round,
          badDebtUnits: subtractUnits(0, equity),
        });
      }
    } catch (error) {
      errors.push({
        kind: 'account-unvaluable',
        key: entry.account.accountId,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return contributors;
}

/** Total move / initial move per instrument; null for an instrument the shock did not move. */
export function cascadeMultipliers(
  plan: CascadePlan,
  finalMarks: Readonly<Record<string, number>>,
): Record<string, number | null> {
  const multiplier: Record<string, number | null> = {};
  for (const i of plan.market.instruments) {
    const first = (plan.round0[i.symbol] as number) / i.mark - 1;
    const total = (finalMarks[i.symbol] as number) / i.mark - 1;
    multiplier[i.symbol] = first === 0 ? null : total / first;
  }
  return multiplier;
}

/**
 * Run the cascade. Throws `StressInputError` for a shock on an instrument without prices, a move that is
 * not above −100%, or no shock at all; bad account records and instruments without volume are reported in
 * `errors` and the rest is stressed.
 *
 * @example
 * const report = runCascade({ accounts, instruments, shocks: { BTC: -0.2 }, levels, policy, asOf });
 * formatUnits(report.badDebtUnits); // '1250.00000000'
 */
export function runCascade(input: CascadeInput): CascadeReport {
  const errors: StressError[] = [];
  const { accounts, ...market } = input;
  const plan = planCascade(market, errors);
  let standing = readStressAccounts(accounts, errors);
  const accountsStressed = standing.length;
  const impact = emptyImpactState();
  const rounds: StressRound[] = [];
  let marks: Readonly<Record<string, number>> = plan.round0;
  let changed: ReadonlySet<string> | undefined; // undefined: value everyone (round 0)
  let settled = true;
  const closedOut: { entry: StandingAccount; round: number }[] = [];
  for (let round = 0; ; round += 1) {
    const { liquidated, survivors } = valueRound(plan, standing, marks, changed, errors);
    standing = survivors;
    const { marksAfter, moved, flows } = applyImpact(
      plan,
      impact,
      closeOutFlows(liquidated, marks),
      marks,
      errors,
    );
    for (const entry of liquidated) closedOut.push({ entry, round });
    rounds.push({
      round,
      marks,
      liquidatedAccounts: liquidated.map((e) => e.account.accountId),
      flows,
      marksAfter,
    });
    marks = marksAfter;
    const next = nextRound(plan, round, liquidated.length, standing.length, moved);
    if (next === 'settled') break;
    if (next === 'cut-off') {
      settled = false;
      break;
    }
    changed = moved;
  }
  const contributors = badDebtAt(plan, closedOut, marks, errors);
  const badDebt = new UnitSum();
  for (const c of contributors) badDebt.addUnits(c.badDebtUnits);
  contributors.sort((a, b) => compareUnits(b.badDebtUnits, a.badDebtUnits));
  return {
    startMarks: plan.startMarks,
    initialMoves: plan.initialMoves,
    rounds,
    finalMarks: marks,
    cascadeMultiplier: cascadeMultipliers(plan, marks),
    badDebtUnits: badDebt.total(),
    contributors,
    accountsStressed,
    accountsLiquidated: closedOut.length,
    settled,
    errors,
  };
}

/**
 * After a round: settled when it liquidated no one, no one is left standing, or no mark moved (the next
 * round would repeat it); cut off at the policy's round limit while accounts were still being liquidated.
 */
export function nextRound(
  plan: CascadePlan,
  round: number,
  liquidated: number,
  standing: number,
  moved: ReadonlySet<string>,
): 'next' | 'settled' | 'cut-off' {
  if (liquidated === 0 || standing === 0) return 'settled';
  if (round + 1 >= plan.market.policy.maxRounds) return 'cut-off';
  if (moved.size === 0) return 'settled';
  return 'next';
}

/**
 * The square-root law: the relative price impact of a quantity Q traded against an average daily volume V
 * (same unit) on an instrument of daily volatility σ, Y·σ·√(Q/V).
 *
 * @example
 * squareRootImpact(1, 0.04, 1e8, 1e10); // 0.004: 1% of a day's volume moves a 4%-σ market 0.4%
 */
export function squareRootImpact(y: number, sigma: number, quantity: number, volume: number): number {
  if (!(volume > 0)) throw new RangeError(`average daily volume must be positive, got ${volume}`);
  return y * sigma * Math.sqrt(quantity / volume);
}

function checkShocks(
  shocks: Readonly<Record<string, number>>,
  bySymbol: ReadonlyMap<string, StressInstrument>,
): void {
  const entries = Object.entries(shocks);
  if (entries.length === 0) throw new StressInputError('give at least one shock, e.g. BTC=-0.2', 'shocks');
  for (const [symbol, move] of entries) {
    if (!bySymbol.has(symbol)) {
      throw new StressInputError(
        `shock on ${symbol}, which has no price file (known: ${[...bySymbol.keys()].join(', ') || 'none'})`,
        symbol,
      );
    }
    if (!Number.isFinite(move) || move <= -1) {
      throw new StressInputError(
        `shock on ${symbol}: a move must be above −100% (a price cannot reach zero), got ${move}`,
        symbol,
      );
    }
  }
}

/**
 * Round-0 marks: a shocked instrument at mark × (1 + move); any other at mark × exp(β·ln(1 + move)) for the
 * shocked instrument whose move carries it furthest, β the committee's ρ × σ_f/σ_s if set, else the
 * measured co-move. An instrument with neither stays put and is named.
 */
function shockedMarks(
  input: CascadeMarket,
  bySymbol: ReadonlyMap<string, StressInstrument>,
  errors: StressError[],
): { marks: Record<string, number>; moves: Record<string, { move: number; source: string }> } {
  const rho = new Map<string, number>();
  for (const { a, b, rho: r } of input.policy.correlations) {
    rho.set(`${a}/${b}`, r);
    rho.set(`${b}/${a}`, r);
  }
  const marks: Record<string, number> = {};
  const moves: Record<string, { move: number; source: string }> = {};
  for (const instrument of input.instruments) {
    const { symbol } = instrument;
    const shock = input.shocks[symbol];
    if (shock !== undefined) {
      marks[symbol] = instrument.mark * (1 + shock);
      moves[symbol] = { move: shock, source: 'shock' };
      continue;
    }
    let best: { logMove: number; source: string } | undefined;
    for (const [shocked, move] of Object.entries(input.shocks)) {
      const s = bySymbol.get(shocked) as StressInstrument;
      const r = rho.get(`${symbol}/${shocked}`);
      const beta =
        r !== undefined
          ? (r * instrument.dailyVolatility) / s.dailyVolatility
          : input.coMoves?.[symbol]?.[shocked];
      if (beta === undefined || !Number.isFinite(beta)) continue;
      const logMove = beta * Math.log1p(move);
      if (best === undefined || Math.abs(logMove) > Math.abs(best.logMove)) {
        best = {
          logMove,
          source:
            r !== undefined
              ? `ρ ${r} on ${shocked} × σ ratio`
              : `stressed co-move ${beta.toFixed(3)} on ${shocked}`,
        };
      }
    }
    if (best === undefined) {
      errors.push({
        kind: 'no-co-move',
        key: symbol,
        reason: `${symbol} has no stressed correlation or co-move with ${Object.keys(input.shocks).join(', ')}: left at its mark in round 0`,
      });
      marks[symbol] = instrument.mark;
      moves[symbol] = { move: 0, source: 'none' };
      continue;
    }
    marks[symbol] = instrument.mark * Math.exp(best.logMove);
    moves[symbol] = { move: Math.expm1(best.logMove), source: best.source };
  }
  return { marks, moves };
}

/** Check raw account records: a bad or duplicate one is named in `errors`, the rest stand. */
export function readStressAccounts(records: readonly unknown[], errors: StressError[]): StandingAccount[] {
  const standing: StandingAccount[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    const parsed = accountSchema.safeParse(record);
    const id = (record as { accountId?: unknown } | null)?.accountId;
    const key = typeof id === 'string' && id !== '' ? id : `#${index}`;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      errors.push({
        kind: 'account-rejected',
        key,
        reason: issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'invalid record',
      });
      return;
    }
    if (seen.has(parsed.data.accountId)) {
      errors.push({
        kind: 'account-rejected',
        key,
        reason: 'duplicate accountId: the first record is stressed',
      });
      return;
    }
    seen.add(parsed.data.accountId);
    const symbols = new Set<string>();
    for (const p of parsed.data.positions) symbols.add(p.instrument);
    for (const c of parsed.data.collateral) symbols.add(c.asset);
    standing.push({ account: parsed.data, symbols: [...symbols] });
  });
  return standing;
}

/**
 * The close-out orders of the accounts liquidated this round, per instrument: each future or perpetual
 * closed at the round's mark (an inverse position as the C·size/entry base units it is margined as).
 * Options are closed at their mark without an order in the underlying (docs/STRESS.md).
 */
export function closeOutFlows(
  liquidated: readonly StandingAccount[],
  marks: Readonly<Record<string, number>>,
): Map<string, CloseOutFlow> {
  const flows = new Map<string, CloseOutFlow>();
  for (const { account } of liquidated) {
    for (const position of account.positions) {
      if (position.kind === 'option') continue;
      const quantity =
        position.settlement === 'inverse'
          ? (Number(position.quantity) * Number(position.contractSize ?? 0)) / Number(position.entryPrice)
          : Number(position.quantity);
      const mark = marks[position.instrument] as number;
      let flow = flows.get(position.instrument);
      if (flow === undefined) {
        flow = { sellNotional: 0, buyNotional: 0, sellQuantity: 0, buyQuantity: 0 };
        flows.set(position.instrument, flow);
      }
      if (quantity > 0) {
        flow.sellQuantity += quantity;
        flow.sellNotional += quantity * mark;
      } else {
        flow.buyQuantity -= quantity;
        flow.buyNotional -= quantity * mark;
      }
    }
  }
  return flows;
}

/** Quote notional as an exact 8-dp string, rounded up (an amount at risk is never understated). */
export function notionalText(amount: number): string {
  const units = unitsUp(amount);
  // Beyond 2⁵³ units (about $90M) the float is still an integer: exact as a BigInt.
  return formatUnits(Number.isSafeInteger(units) ? units : BigInt(units));
}

export { formatUnits, priceText };
