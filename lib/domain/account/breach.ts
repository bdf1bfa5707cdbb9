/**
 * Breach bands: how far prices can move before an account's margin state can change, so a sweep after a
 * move need only revisit the accounts whose band the move crossed (the breach index), with a periodic full
 * sweep as the safety net.
 *
 * For an account valued against a snapshot with marks M, the *safe move* δ is the largest value of a fixed
 * ladder such that for EVERY joint relative move of the account's instruments with |move_i| ≤ δ the state
 * machine keeps its state. It is joint on purpose: per-instrument bands computed with the other instruments
 * fixed are not valid when several instruments move at once (a long BTC / short ETH book loses on the pair).
 * The index entries are, per instrument the account reads, `below = M × (1 − δ)` and `above = M × (1 + δ)`;
 * the account must be revisited when any of its marks is ≤ below or ≥ above.
 *
 * How the box is checked:
 * - **Futures only, no correlation offsets** (`separable`): equity is linear in each price (an inverse
 *   future is exactly a linear position of C·s/E base units; collateral in an instrument's asset is linear
 *   too) and the maintenance requirement is a sum over instruments of a convex function of that
 *   instrument's price alone (brackets `N × rate − cum` with rising rates, the √ liquidity factor). So
 *   slack = equity − level × maintenance is concave and separable: its minimum over the box is at the
 *   corner that takes, per instrument, the worse end of its axis. The check values both ends of every axis
 *   (2k) and then that corner; the verdict is the corner's real valuation. For worsening this is a
 *   guarantee (up to the 10⁻⁸ rounding the valuation does toward safety, covered by a 10⁻⁶ margin on the
 *   ratio). A recovery (states below OK) needs the maximum instead, which a concave term may reach inside
 *   its axis: it is sampled at ±δ and ±δ/2 per axis and summed (empirical).
 * - **Options or correlation offsets** (`sampled`): concavity fails (Black-76 is convex in the price; a
 *   correlation credit is a min of two groups), so the check values corners, axis points and a coarse
 *   interior grid. That guarantee is empirical (tested, measured by the bench).
 * The full sweep covers whatever an empirical check misses.
 *
 * Recoveries: worsening is the safety-critical direction and is what the `separable` guarantee covers. An
 * account not in OK also gets the recovery direction folded into its band, so a margin call that lifts is
 * usually announced by the next targeted sweep; one the sample misses waits for the full sweep.
 * LIQUIDATION has nothing worse, so its band is its recovery band alone.
 *
 * What a band does not cover (the full sweep does): time (option decay, expiries), trades or transfers that
 * change the account (the exchange's account updates must re-index it), a new threshold set (every band is
 * computed against one set; the sweep after a recalibration is full).
 *
 * An account that cannot be valued (a missing market, a bad amount) gets δ = 0 under the `EVERY_SWEEP`
 * instrument: it is revisited by every targeted sweep, where it is reported again, never dropped.
 *
 * The index's entries and the crossing test a targeted sweep applies are in `breach-index.ts`.
 */
import { correlationsByPair } from '../valuation/offsets.ts';
import type { MarketSnapshot } from '../valuation/snapshot.ts';
import { type AccountValuation, valueAccount } from '../valuation/valuation.ts';
import type { Account, MarginState } from './account.ts';
import { type BreachIndexEntry, EVERY_SWEEP, EVERY_SWEEP_MARK } from './breach-index.ts';
import { type MarginLevels, nextMarginState, ratioForState } from './state-machine.ts';

// The index's entries and crossing test are part of this module's public face: callers import them from here.
export {
  type BreachIndexEntry,
  type BreachIndexKey,
  bandCrossed,
  EVERY_SWEEP,
  EVERY_SWEEP_MARK,
  everySweepEntry,
} from './breach-index.ts';

/**
 * Safe-move ladder (fractions of the mark); a band rounds DOWN to it. Fine near 0, where a one-minute watch
 * lives: a minute's σ is about 0.08% (BTC at 60% a year), so an account 0.15% from its level gets a band of
 * 0.1%, which most minutes do not cross, rather than 0, which every minute does. Steps of about 1.25× up to
 * 3% keep the rounding loss small (a band rounded down is crossed early); each doubling of the rungs costs
 * one probe of the binary search.
 */
export const SAFE_MOVE_LADDER: readonly number[] = [
  0, 0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.0075, 0.01, 0.0125, 0.015, 0.02,
  0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
];

/** A ratio this close above the level it must not cross counts as crossing: covers the valuation's rounding. */
const RATIO_MARGIN = 1e-6;

/** Accounts reading more instruments than this are checked on corners + axes only, and beyond `MAX_SAMPLED_INSTRUMENTS` not at all (δ = 0). */
const FULL_GRID_INSTRUMENTS = 4;
const MAX_SAMPLED_INSTRUMENTS = 8;

export type BandMethod =
  /** Futures only, no correlation offsets: concave and separable, worst corner valued exactly. */
  | 'separable'
  /** Options or correlation offsets: corners, axes and a grid sampled (empirical). */
  | 'sampled'
  /** Nothing required and no exposure: no price move can change the state. */
  | 'no-exposure'
  /** Could not be valued or too many instruments to check: revisit on every targeted sweep. */
  | 'every-sweep';

export interface BreachBand {
  readonly accountId: string;
  readonly state: MarginState;
  /** The joint safe move δ, a ladder value (0 = revisit on any move). */
  readonly safeMove: number;
  readonly method: BandMethod;
  readonly entries: readonly BreachIndexEntry[];
  /** Valuations spent on this band (cost accounting). */
  readonly valuations: number;
  /** Why the account is revisited on every sweep (`every-sweep` only). */
  readonly reason?: string;
}

export interface BreachBandOptions {
  /** Valuation time (epoch ms): what option values and expiries are read at. */
  readonly asOf: number;
  /** @default SAFE_MOVE_LADDER */
  readonly ladder?: readonly number[];
}

const RANK: Readonly<Record<MarginState, number>> = { OK: 0, WARNING: 1, MARGIN_CALL: 2, LIQUIDATION: 3 };

/**
 * Computes breach bands against one snapshot. Keeps the moved snapshots it builds (one per ladder value
 * and move pattern), so bands of many accounts against the same marks share their preparation.
 *
 * @example
 * const bands = new BreachBandCalculator(snapshot, policy.levels, { asOf: Date.now() });
 * const { safeMove, entries } = bands.band(account, 'OK');
 */
export class BreachBandCalculator {
  private readonly ladder: readonly number[];
  private readonly asOf: number;
  private readonly separableMarket: boolean;
  private readonly moved = new Map<number | string, MarketSnapshot>();
  private readonly symbolIds = new Map<string, number>();

  constructor(
    readonly snapshot: MarketSnapshot,
    private readonly levels: MarginLevels,
    options: BreachBandOptions,
  ) {
    this.ladder = options.ladder ?? SAFE_MOVE_LADDER;
    if (
      this.ladder[0] !== 0 ||
      this.ladder.some((d, i) => !(d < 1) || (i > 0 && !(d > (this.ladder[i - 1] as number))))
    ) {
      throw new RangeError('the safe-move ladder must start at 0 and rise strictly below 1');
    }
    this.asOf = options.asOf;
    // A correlation credit is min(ρ, cap) × the smaller group: it couples instruments and is not convex.
    this.separableMarket = correlationsByPair(snapshot.policy, snapshot.correlations).size === 0;
  }

  /**
   * The band of `account` in `state` (its state after this valuation). Never throws for a bad account: one
   * that cannot be valued gets an `every-sweep` band with the reason.
   */
  band(account: Account, state: MarginState): BreachBand {
    const counter = { valuations: 0 };
    try {
      return this.compute(account, state, counter);
    } catch (error) {
      return this.everySweep(
        account,
        state,
        counter.valuations,
        error instanceof Error ? error.message : String(error),
      );
    }
  }

  private compute(account: Account, state: MarginState, counter: { valuations: number }): BreachBand {
    const symbols = exposures(account, this.snapshot);
    const base = this.valuationAt(account, undefined, counter);
    if (symbols.length === 0) {
      // Only quote-priced collateral and no positions: no mark moves it. Its state is kept as it is.
      return {
        accountId: account.accountId,
        state,
        safeMove: 0,
        method: 'no-exposure',
        entries: [],
        valuations: counter.valuations,
      };
    }
    const hasOptions = account.positions.some((p) => p.kind === 'option');
    const method: BandMethod = !hasOptions && this.separableMarket ? 'separable' : 'sampled';
    if (method === 'sampled' && symbols.length > MAX_SAMPLED_INSTRUMENTS) {
      return this.everySweep(
        account,
        state,
        counter.valuations,
        `reads ${symbols.length} instruments (more than ${MAX_SAMPLED_INSTRUMENTS} cannot be sampled)`,
      );
    }
    const hint: { corner?: number[] } = {};
    const safeAt = (i: number): boolean => {
      const delta = this.ladder[i] as number;
      if (delta === 0) return !this.changes(base, state);
      return method === 'separable'
        ? this.separableSafe(account, state, symbols, i, counter, base, hint)
        : this.sampledSafe(account, state, symbols, i, counter);
    };
    let index = 0;
    if (safeAt(0)) {
      // Largest safe ladder value, rounding down: safety is monotone in δ (a smaller box is inside a larger one).
      let lo = 0;
      let hi = this.ladder.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (safeAt(mid)) lo = mid;
        else hi = mid - 1;
      }
      index = lo;
    }
    const safeMove = this.ladder[index] as number;
    return {
      accountId: account.accountId,
      state,
      safeMove,
      method,
      entries: symbols.map((symbol) => {
        const mark = this.mark(symbol);
        return {
          accountId: account.accountId,
          instrument: symbol,
          below: mark * (1 - safeMove),
          above: mark * (1 + safeMove),
        };
      }),
      valuations: counter.valuations,
    };
  }

  private everySweep(account: Account, state: MarginState, valuations: number, reason: string): BreachBand {
    return {
      accountId: account.accountId,
      state,
      safeMove: 0,
      method: 'every-sweep',
      entries: [
        {
          accountId: account.accountId,
          instrument: EVERY_SWEEP,
          below: EVERY_SWEEP_MARK,
          above: EVERY_SWEEP_MARK,
        },
      ],
      valuations,
      reason,
    };
  }

  /**
   * Futures only, no correlation offsets: slack(p) = equity − level × maintenance is a sum of one concave
   * term per instrument. Worsening: per instrument the worse end of its axis is the worse end of its term,
   * and the corner taking every worse end is the minimum over the box; it is valued for the verdict (exact).
   * Recovery (states below OK): the maximum over the box is the sum of each term's maximum on its axis,
   * sampled at ±δ and ±δ/2 (a concave term may peak inside: empirical, like the option check).
   */
  private separableSafe(
    account: Account,
    state: MarginState,
    symbols: readonly string[],
    index: number,
    counter: { valuations: number },
    base: AccountValuation,
    hint: { corner?: number[] },
  ): boolean {
    const worse = worseLevel(state, this.levels);
    const better = betterLevel(state, this.levels);
    const slack = (v: AccountValuation, level: number) =>
      Number(v.equityUnits) - level * Number(v.maintenanceUnits);
    // The worst corner of the last probe is usually the worst again: if it fails, one valuation decides.
    const previous = hint.corner;
    if (previous && previous.length > 1) {
      const guess = this.valuationAt(account, this.snapshotAt(symbols, index, previous), counter);
      if (this.changes(guess, state)) return false;
    }
    const corner: number[] = [];
    let recoverySlack = better === undefined ? 0 : slack(base, better);
    for (let s = 0; s < symbols.length; s++) {
      // One instrument: its worse end last time first, so a failing probe costs one valuation.
      const upFirst = symbols.length === 1 && previous?.[0] === 1;
      const first = this.valuationAt(account, this.point(symbols, index, s, upFirst ? 1 : -1), counter);
      if (this.changes(first, state)) return false;
      const second = this.valuationAt(account, this.point(symbols, index, s, upFirst ? -1 : 1), counter);
      if (this.changes(second, state)) return false;
      const down = upFirst ? second : first;
      const up = upFirst ? first : second;
      if (worse !== Number.NEGATIVE_INFINITY) corner.push(slack(down, worse) <= slack(up, worse) ? -1 : 1);
      if (better !== undefined) {
        const halfDown = this.valuationAt(account, this.point(symbols, index, s, -0.5), counter);
        const halfUp = this.valuationAt(account, this.point(symbols, index, s, 0.5), counter);
        if (this.changes(halfDown, state) || this.changes(halfUp, state)) return false;
        const axisBest = Math.max(...[down, up, halfDown, halfUp].map((v) => slack(v, better)));
        recoverySlack += Math.max(0, axisBest - slack(base, better));
      }
    }
    // A recovery somewhere in the box (with the ratio margin): the band must stop before it.
    if (better !== undefined && symbols.length > 1) {
      if (recoverySlack >= -RATIO_MARGIN * Number(base.maintenanceUnits)) return false;
    }
    if (corner.length > 0) hint.corner = corner;
    if (corner.length < 2) return true; // one instrument: the axis ends are the corners
    if (sameSigns(previous, corner)) return true; // this corner was valued first, above
    const worst = this.valuationAt(account, this.snapshotAt(symbols, index, corner), counter);
    return !this.changes(worst, state);
  }

  /** Corners, axis points and (for up to four instruments) an interior grid. */
  private sampledSafe(
    account: Account,
    state: MarginState,
    symbols: readonly string[],
    index: number,
    counter: { valuations: number },
  ): boolean {
    for (const point of samplePoints(symbols.length)) {
      if (this.changes(this.valuationAt(account, this.snapshotAt(symbols, index, point), counter), state))
        return false;
    }
    return true;
  }

  /**
   * True when the state machine would leave `state` at this valuation, or its ratio is within the margin of a
   * worse level. It reads what the state machine reads: with nothing required, negative equity is LIQUIDATION.
   */
  private changes(valuation: AccountValuation, state: MarginState): boolean {
    const ratio = ratioForState(valuation);
    if (nextMarginState(state, ratio, this.levels) !== state) return true;
    const floor = worseLevel(state, this.levels);
    return ratio !== null && ratio < floor + RATIO_MARGIN;
  }

  private valuationAt(
    account: Account,
    snapshot: MarketSnapshot | undefined,
    counter: { valuations: number },
  ): AccountValuation {
    counter.valuations++;
    const valuation = valueAccount(account, snapshot ?? this.snapshot, this.asOf);
    if (valuation.ratio !== null && Number.isNaN(valuation.ratio))
      throw new RangeError('margin ratio is NaN');
    return valuation;
  }

  private point(symbols: readonly string[], index: number, s: number, sign: number): MarketSnapshot {
    const moves = symbols.map((_, j) => (j === s ? sign : 0));
    return this.snapshotAt(symbols, index, moves);
  }

  /**
   * Cache key of a moved snapshot, a number while it fits (this runs once per valuation): rung, then per
   * moved instrument its id and its move in eighths of δ.
   */
  private keyOf(symbols: readonly string[], index: number, moves: readonly number[]): number | string {
    let key = index + 1;
    let parts = 0;
    for (let j = 0; j < symbols.length; j++) {
      const move = moves[j] as number;
      if (move === 0) continue;
      const symbol = symbols[j] as string;
      let id = this.symbolIds.get(symbol);
      if (id === undefined) {
        id = this.symbolIds.size;
        this.symbolIds.set(symbol, id);
      }
      const eighths = Math.round(move * 8) + 8; // 0…16
      if (id > 500 || ++parts > 3 || eighths !== move * 8 + 8) {
        return `${index}|${symbols.map((sym, i) => `${sym}:${moves[i]}`).join('|')}`;
      }
      key = key * 20_000 + id * 17 + eighths + 1;
    }
    return key;
  }

  private mark(symbol: string): number {
    const market = this.snapshot.instruments.get(symbol);
    if (!market) throw new RangeError(`no market for ${symbol}`);
    return market.markPrice;
  }

  /** The snapshot with `symbols[j]` marked at M × (1 + moves[j] × δ) (and its asset priced alike), cached. */
  private snapshotAt(symbols: readonly string[], index: number, moves: readonly number[]): MarketSnapshot {
    const delta = this.ladder[index] as number;
    const key = this.keyOf(symbols, index, moves);
    const cached = this.moved.get(key);
    if (cached) return cached;
    const instruments = new Map(this.snapshot.instruments);
    const assetPrices = new Map(this.snapshot.assetPrices);
    for (let j = 0; j < symbols.length; j++) {
      const move = moves[j] as number;
      if (move === 0) continue;
      const symbol = symbols[j] as string;
      const market = this.snapshot.instruments.get(symbol);
      if (!market) continue;
      // Same expression as the entries' below/above, so a corner is exactly the band's edge.
      const mark = market.markPrice * (move === -1 ? 1 - delta : move === 1 ? 1 + delta : 1 + move * delta);
      instruments.set(symbol, { ...market, markPrice: mark });
      if (this.snapshot.assetPrices.get(symbol) === market.markPrice) assetPrices.set(symbol, mark);
    }
    const snapshot: MarketSnapshot = { ...this.snapshot, instruments, assetPrices };
    // Bounded: a universe of many instruments and mixed accounts would otherwise keep every pattern.
    if (this.moved.size >= 20_000) this.moved.clear();
    this.moved.set(key, snapshot);
    return snapshot;
  }
}

/**
 * The instruments whose mark the account's valuation reads: its positions' instruments (an option's
 * underlying) and collateral assets priced at an instrument's mark (BTC collateral moves with BTC).
 */
export function exposures(account: Account, snapshot: MarketSnapshot): string[] {
  const symbols = new Set<string>();
  for (const position of account.positions) symbols.add(position.instrument);
  for (const collateral of account.collateral) {
    const market = snapshot.instruments.get(collateral.asset);
    if (market && snapshot.assetPrices.get(collateral.asset) === market.markPrice)
      symbols.add(collateral.asset);
  }
  return [...symbols].sort();
}

function sameSigns(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The ratio at which the state machine moves `state` to a better one (with hysteresis); none for OK. */
function betterLevel(state: MarginState, levels: MarginLevels): number | undefined {
  const band = levels.hysteresis ?? 0;
  switch (state) {
    case 'OK':
      return undefined;
    case 'WARNING':
      return levels.warning + band;
    case 'MARGIN_CALL':
      return levels.marginCall + band;
    case 'LIQUIDATION':
      return levels.liquidation + band;
  }
}

/** The ratio below which the state machine moves `state` to a worse state (−∞ for LIQUIDATION). */
function worseLevel(state: MarginState, levels: MarginLevels): number {
  switch (state) {
    case 'OK':
      return levels.warning;
    case 'WARNING':
      return levels.marginCall;
    case 'MARGIN_CALL':
      return levels.liquidation;
    case 'LIQUIDATION':
      return Number.NEGATIVE_INFINITY;
  }
}

/** Whether `to` is a worse state than `from`. */
export function isWorse(from: MarginState, to: MarginState): boolean {
  return RANK[to] > RANK[from];
}

const SAMPLES = new Map<number, number[][]>();

/**
 * Move patterns (each coordinate in [−1, 1], a multiple of δ) for k instruments: k = 1 nine points on the
 * axis; k ≤ 4 the grid {−1, −½, 0, ½, 1}ᵏ for k = 2, {−1, 0, 1}ᵏ plus the axis half-points beyond; more:
 * corners and axis points.
 */
function samplePoints(k: number): number[][] {
  const cached = SAMPLES.get(k);
  if (cached) return cached;
  const points: number[][] = [];
  const add = (p: number[]) => {
    if (p.some((x) => x !== 0)) points.push(p);
  };
  const grid = (levels: readonly number[]) => {
    const walk = (prefix: number[]) => {
      if (prefix.length === k) return add(prefix);
      for (const level of levels) walk([...prefix, level]);
    };
    walk([]);
  };
  if (k === 1) grid([-1, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1]);
  else if (k === 2) grid([-1, -0.5, 0, 0.5, 1]);
  else if (k <= FULL_GRID_INSTRUMENTS) {
    grid([-1, 0, 1]);
    for (let s = 0; s < k; s++)
      for (const half of [-0.5, 0.5]) add(Array.from({ length: k }, (_, j) => (j === s ? half : 0)));
  } else {
    grid([-1, 1]);
    for (let s = 0; s < k; s++)
      for (const end of [-1, -0.5, 0.5, 1]) add(Array.from({ length: k }, (_, j) => (j === s ? end : 0)));
  }
  // Corners first: the likeliest to fail, so a failing probe stops early.
  points.sort((a, b) => b.reduce((n, x) => n + Math.abs(x), 0) - a.reduce((n, x) => n + Math.abs(x), 0));
  SAMPLES.set(k, points);
  return points;
}
