/**
 * Valuation throughput on one core: `valueAccount` over N deterministic accounts, beside a hand-written
 * floor doing the same arithmetic on the same inputs, measured in the same run.
 *
 * - Linear: 5 perpetual positions per account across BTC/ETH/SOL, USDT collateral. Floor: a plain loop
 *   reading the same account records (`Number()` of their decimal strings, symbol → index Map) computing
 *   equity (collateral + Σ q·(mark − entry)), per instrument the net quantity, the bracket's IM/MM
 *   (N·rate − cum), the liquidity factor, and the ratio equity / MM. Target: ≥ 1,000,000 accounts/s and ours
 *   ≤ 3 × the floor's time. The same floor over pre-parsed Float64Arrays (no parsing at all) is printed too,
 *   as a diagnostic without target: a stored account arrives as decimal strings, so parsing is part of the
 *   job, and that floor leaves it out.
 * - Options: 10 options (calls and puts, long and short, 1–90 days) and a perpetual per account under the
 *   default Deribit grid (27 scenarios). Target ≥ 50,000 accounts/s. Floor: the 10 × 27 (+ 10 marks)
 *   `black76Price` calls in a plain loop, the irreducible part of the scenario revaluation.
 */
import type { Account, Position } from '../../lib/domain/account/account.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { seededRandom } from '../../lib/domain/math/random.ts';
import { recalibrate } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold, ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import { black76Price, YEAR_MS } from '../../lib/domain/valuation/black76.ts';
import { bracketTable } from '../../lib/domain/valuation/size.ts';
import { type MarketSnapshot, marketSnapshotFromSet } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';
import type { Bench, BenchFigure } from './types.ts';

const AS_OF = Date.parse('2026-11-24T00:00:00Z');
const DAY_MS = 86_400_000;
const LINEAR_ACCOUNTS = 100_000;
const OPTION_ACCOUNTS = 10_000;
const REPETITIONS = 7;
const INSTRUMENTS = [
  { symbol: 'BTC', price: 90_000, seed: 11 },
  { symbol: 'ETH', price: 3_000, seed: 12 },
  { symbol: 'SOL', price: 150, seed: 13 },
] as const;

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median wall time (ms) of `repetitions` runs of `run`, after `warmups` untimed runs. */
export function timeMedian(run: () => void, repetitions: number, warmups = 2): number {
  for (let i = 0; i < warmups; i++) run();
  const times: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return medianOf(times);
}

function thresholds(): Threshold[] {
  return INSTRUMENTS.map(({ symbol, price, seed }) =>
    recalibrate(
      DEFAULT_THRESHOLD_POLICY,
      generateCandles({ instrument: symbol, days: 730, endTime: AS_OF, startPrice: price, seed }),
      undefined,
      { asOf: AS_OF },
    ),
  );
}

function decimal(x: number, places: number): string {
  const text = x.toFixed(places);
  return Number(text) === 0 ? (x < 0 ? '-' : '') + (10 ** -places).toFixed(places) : text;
}

interface LinearInputs {
  accounts: Account[];
  collateral: Float64Array;
  instrument: Uint8Array;
  quantity: Float64Array;
  entry: Float64Array;
}

const LINEAR_POSITIONS = 5;

function linearAccounts(count: number, marks: readonly number[]): LinearInputs {
  const random = seededRandom(20261124);
  const inputs: LinearInputs = {
    accounts: [],
    collateral: new Float64Array(count),
    instrument: new Uint8Array(count * LINEAR_POSITIONS),
    quantity: new Float64Array(count * LINEAR_POSITIONS),
    entry: new Float64Array(count * LINEAR_POSITIONS),
  };
  for (let a = 0; a < count; a++) {
    const positions: Position[] = [];
    let gross = 0;
    for (let j = 0; j < LINEAR_POSITIONS; j++) {
      const k = Math.floor(random() * INSTRUMENTS.length);
      const mark = marks[k] as number;
      // Notional log-uniform from $1k to $2M, long or short; entry within ±10% of the mark.
      const notional = 1000 * 2000 ** random();
      const quantity = decimal(((random() < 0.5 ? -1 : 1) * notional) / mark, 4);
      const entry = decimal(mark * (0.9 + 0.2 * random()), 2);
      positions.push({
        kind: 'perpetual',
        instrument: (INSTRUMENTS[k] as (typeof INSTRUMENTS)[number]).symbol,
        quantity,
        entryPrice: entry,
        settlement: 'linear',
      });
      const at = a * LINEAR_POSITIONS + j;
      inputs.instrument[at] = k;
      inputs.quantity[at] = Number(quantity);
      inputs.entry[at] = Number(entry);
      gross += notional;
    }
    const collateral = decimal(gross * (0.03 + 0.3 * random()), 2);
    inputs.collateral[a] = Number(collateral);
    inputs.accounts.push({
      accountId: `lin-${String(a).padStart(7, '0')}`,
      collateral: [{ asset: 'USDT', amount: collateral }],
      positions,
    });
  }
  return inputs;
}

/** Per-instrument tables the floor reads: marks, bracket floors/rates/cums (flattened), liquidity per period. */
interface FloorMarket {
  marks: Float64Array;
  bracketStart: Int32Array;
  bracketCount: Int32Array;
  floors: Float64Array;
  imRates: Float64Array;
  mmRates: Float64Array;
  imCum: Float64Array;
  mmCum: Float64Array;
  perPeriod: Float64Array;
}

function floorMarket(set: readonly Threshold[], snapshot: MarketSnapshot): FloorMarket {
  const tables = set.map((t) => bracketTable(t.brackets));
  const total = tables.reduce((s, t) => s + t.floors.length, 0);
  const m: FloorMarket = {
    marks: new Float64Array(set.length),
    bracketStart: new Int32Array(set.length),
    bracketCount: new Int32Array(set.length),
    floors: new Float64Array(total),
    imRates: new Float64Array(total),
    mmRates: new Float64Array(total),
    imCum: new Float64Array(total),
    mmCum: new Float64Array(total),
    perPeriod: new Float64Array(set.length),
  };
  let at = 0;
  set.forEach((t, k) => {
    const table = tables[k] as ReturnType<typeof bracketTable>;
    m.marks[k] = snapshot.instruments.get(t.instrument)?.markPrice ?? (t.referencePrice as number);
    m.bracketStart[k] = at;
    m.bracketCount[k] = table.floors.length;
    m.floors.set(table.floors, at);
    m.imRates.set(table.initialRates, at);
    m.mmRates.set(table.maintenanceRates, at);
    m.imCum.set(table.initialCum, at);
    m.mmCum.set(table.maintenanceCum, at);
    at += table.floors.length;
    m.perPeriod[k] = t.liquidity
      ? t.liquidity.participationRate *
        t.liquidity.averageDailyVolume *
        snapshot.policy.marginPeriodOfRiskDays
      : 0;
  });
  return m;
}

/** The minimum arithmetic of a linear account's valuation; writes equity, IM, MM, ratio per account. */
function linearFloor(inputs: LinearInputs, m: FloorMarket, out: Float64Array): void {
  const count = inputs.collateral.length;
  const net = new Float64Array(m.marks.length);
  const { instrument, quantity, entry } = inputs;
  for (let a = 0; a < count; a++) {
    let equity = inputs.collateral[a] as number;
    net.fill(0);
    const base = a * LINEAR_POSITIONS;
    for (let j = base; j < base + LINEAR_POSITIONS; j++) {
      const k = instrument[j] as number;
      const q = quantity[j] as number;
      equity += q * ((m.marks[k] as number) - (entry[j] as number));
      net[k] = (net[k] as number) + q;
    }
    floorRequirements(net, equity, m, out, a);
  }
}

/** The floors' shared arithmetic: bracket requirements on net notional per instrument, and the ratio. */
function floorRequirements(
  net: Float64Array,
  equity: number,
  m: FloorMarket,
  out: Float64Array,
  a: number,
): void {
  let im = 0;
  let mm = 0;
  for (let k = 0; k < net.length; k++) {
    const n = Math.abs(net[k] as number) * (m.marks[k] as number);
    if (n === 0) continue;
    const start = m.bracketStart[k] as number;
    let b = start + (m.bracketCount[k] as number) - 1;
    while (b > start && (m.floors[b] as number) > n) b--;
    const perPeriod = m.perPeriod[k] as number;
    const liquidity = perPeriod > 0 && n > perPeriod ? Math.sqrt(n / perPeriod) : 1;
    im += (n * (m.imRates[b] as number) - (m.imCum[b] as number)) * liquidity;
    mm += (n * (m.mmRates[b] as number) - (m.mmCum[b] as number)) * liquidity;
  }
  out[4 * a] = equity;
  out[4 * a + 1] = im;
  out[4 * a + 2] = mm;
  out[4 * a + 3] = mm > 0 ? equity / mm : Number.POSITIVE_INFINITY;
}

/**
 * The floor reading the account records themselves (decimal strings, symbols), as `valueAccount` does: the
 * reference for the linear target. `linearFloor` is the same arithmetic on pre-parsed arrays.
 */
function linearFloorFromRecords(
  accounts: readonly Account[],
  index: ReadonlyMap<string, number>,
  m: FloorMarket,
  out: Float64Array,
): void {
  const net = new Float64Array(m.marks.length);
  for (let a = 0; a < accounts.length; a++) {
    const account = accounts[a] as Account;
    let equity = Number((account.collateral[0] as Account['collateral'][number]).amount);
    net.fill(0);
    for (const p of account.positions) {
      const k = index.get(p.instrument) as number;
      const q = Number(p.quantity);
      equity += q * ((m.marks[k] as number) - Number(p.entryPrice));
      net[k] = (net[k] as number) + q;
    }
    floorRequirements(net, equity, m, out, a);
  }
}

function optionAccounts(count: number, marks: readonly number[]): Account[] {
  const random = seededRandom(7_654_321);
  const accounts: Account[] = [];
  for (let a = 0; a < count; a++) {
    const positions: Position[] = [];
    let gross = 0;
    for (let j = 0; j < 10; j++) {
      const k = Math.floor(random() * INSTRUMENTS.length);
      const mark = marks[k] as number;
      const strike = mark * (0.7 + 0.6 * random());
      const days = 1 + Math.floor(random() * 90);
      const units = (10_000 * 50 ** random()) / mark;
      positions.push({
        kind: 'option',
        instrument: (INSTRUMENTS[k] as (typeof INSTRUMENTS)[number]).symbol,
        optionType: random() < 0.5 ? 'call' : 'put',
        strike: decimal(strike, mark >= 1000 ? 0 : 2),
        expiry: new Date(AS_OF + days * DAY_MS + 8 * 3_600_000).toISOString(),
        quantity: decimal((random() < 0.5 ? -1 : 1) * units, 3),
        entryPrice: decimal(mark * 0.05 * random(), 2),
      });
      gross += units * mark;
    }
    const k = Math.floor(random() * INSTRUMENTS.length);
    const mark = marks[k] as number;
    positions.push({
      kind: 'perpetual',
      instrument: (INSTRUMENTS[k] as (typeof INSTRUMENTS)[number]).symbol,
      quantity: decimal(((random() < 0.5 ? -1 : 1) * 100_000 * random()) / mark, 4),
      entryPrice: decimal(mark * (0.95 + 0.1 * random()), 2),
      settlement: 'linear',
    });
    accounts.push({
      accountId: `opt-${String(a).padStart(7, '0')}`,
      collateral: [{ asset: 'USDT', amount: decimal(gross * 0.2 * (0.2 + random()), 2) }],
      positions,
    });
  }
  return accounts;
}

/** The irreducible part of an option account: 10 marks and 10 × 27 shocked Black-76 prices, in a plain loop. */
function optionFloor(
  accounts: readonly Account[],
  marks: Map<string, number>,
  vols: Map<string, number>,
): number {
  // Pre-parse (not timed): per leg forward, strike, years, vol, sign.
  const legs = accounts.flatMap((account) =>
    account.positions.flatMap((p) =>
      p.kind === 'option'
        ? [
            {
              isCall: p.optionType === 'call',
              forward: marks.get(p.instrument) as number,
              strike: Number(p.strike),
              years: (Date.parse(p.expiry) - AS_OF) / YEAR_MS,
              vol: vols.get(p.instrument) as number,
              quantity: Number(p.quantity),
            },
          ]
        : [],
    ),
  );
  const n = legs.length;
  const isCall = new Uint8Array(n);
  const forward = new Float64Array(n);
  const strike = new Float64Array(n);
  const years = new Float64Array(n);
  const vol = new Float64Array(n);
  const quantity = new Float64Array(n);
  legs.forEach((leg, i) => {
    isCall[i] = leg.isCall ? 1 : 0;
    forward[i] = leg.forward;
    strike[i] = leg.strike;
    years[i] = leg.years;
    vol[i] = leg.vol;
    quantity[i] = leg.quantity;
  });
  const moves = [-0.16, -0.12, -0.08, -0.04, 0, 0.04, 0.08, 0.12, 0.16];
  const pnl = new Float64Array(27);
  let sink = 0;
  const run = () => {
    for (let a = 0; a < accounts.length; a++) {
      pnl.fill(0);
      let equity = 0;
      for (let i = a * 10; i < a * 10 + 10; i++) {
        const call = isCall[i] === 1;
        const f = forward[i] as number;
        const k = strike[i] as number;
        const t = years[i] as number;
        const v = vol[i] as number;
        const q = quantity[i] as number;
        const value = black76Price(call, f, k, t, v, 0);
        equity += q * value;
        const dte = Math.max(t * 365, 1);
        const factor = (30 / dte) ** (dte < 30 ? 0.3 : 0.13);
        const up = Math.max(v * (1 + 0.5 * factor), 0.5);
        const down = Math.max(v * (1 - 0.25 * factor), 1e-9);
        for (let s = 0; s < 9; s++) {
          const shocked = f * (1 + (moves[s] as number));
          pnl[3 * s] = (pnl[3 * s] as number) + q * (black76Price(call, shocked, k, t, up, 0) - value);
          pnl[3 * s + 1] = (pnl[3 * s + 1] as number) + q * (black76Price(call, shocked, k, t, v, 0) - value);
          pnl[3 * s + 2] =
            (pnl[3 * s + 2] as number) + q * (black76Price(call, shocked, k, t, down, 0) - value);
        }
      }
      let worst = 0;
      for (let s = 0; s < 27; s++) worst = Math.min(worst, pnl[s] as number);
      sink += equity - worst;
    }
  };
  const ms = timeMedian(run, 5);
  if (!Number.isFinite(sink)) throw new Error('option floor produced a non-finite sum');
  return ms;
}

const bench: Bench = async (log) => {
  log('recalibrating BTC/ETH/SOL thresholds on generated candles (2 years)');
  const set: ThresholdSet = {
    setId: 'bench',
    runId: 'bench',
    createdAt: new Date(AS_OF).toISOString(),
    thresholds: thresholds(),
  };
  const snapshot = marketSnapshotFromSet(set);
  const marks = set.thresholds.map((t) => t.referencePrice as number);

  log(`building ${LINEAR_ACCOUNTS.toLocaleString('en-US')} linear accounts (5 perpetuals each)`);
  const linear = linearAccounts(LINEAR_ACCOUNTS, marks);
  const market = floorMarket(set.thresholds, snapshot);
  const floorOut = new Float64Array(4 * LINEAR_ACCOUNTS);

  // Check both floors compute what valueAccount computes (to float rounding and the 8-dp rounding).
  const symbolIndex = new Map(set.thresholds.map((t, k) => [t.instrument, k]));
  const recordsOut = new Float64Array(4 * LINEAR_ACCOUNTS);
  linearFloor(linear, market, floorOut);
  linearFloorFromRecords(linear.accounts, symbolIndex, market, recordsOut);
  let worstRelative = 0;
  for (let a = 0; a < LINEAR_ACCOUNTS; a += 97) {
    const v = valueAccount(linear.accounts[a] as Account, snapshot, AS_OF);
    const want = [v.equity, v.initialRequirement, v.maintenanceRequirement].map(Number);
    for (let i = 0; i < 3; i++) {
      const ref = want[i] as number;
      for (const out of [floorOut, recordsOut]) {
        const got = out[4 * a + i] as number;
        worstRelative = Math.max(worstRelative, Math.abs(got - ref) / Math.max(1, Math.abs(ref)));
      }
    }
  }
  if (worstRelative > 1e-6) {
    throw new Error(
      `the linear floor disagrees with valueAccount (relative ${worstRelative.toExponential(2)})`,
    );
  }
  log(`both floors agree with valueAccount (worst relative difference ${worstRelative.toExponential(1)})`);

  let sink = 0;
  const accounts = linear.accounts;
  const oursLinearMs = timeMedian(() => {
    for (let a = 0; a < accounts.length; a++) {
      const v = valueAccount(accounts[a] as Account, snapshot, AS_OF);
      sink += v.ratio ?? 0;
    }
  }, REPETITIONS);
  log(`valueAccount (linear): median ${oursLinearMs.toFixed(1)} ms for ${accounts.length} accounts`);
  const floorLinearMs = timeMedian(() => {
    linearFloor(linear, market, floorOut);
    sink += floorOut[3] as number;
  }, REPETITIONS);
  log(`floor (linear, pre-parsed arrays): median ${floorLinearMs.toFixed(2)} ms`);
  const parsingFloorMs = timeMedian(() => {
    linearFloorFromRecords(accounts, symbolIndex, market, floorOut);
    sink += floorOut[3] as number;
  }, REPETITIONS);
  log(`floor reading the records' decimal strings: median ${parsingFloorMs.toFixed(2)} ms`);

  log(`building ${OPTION_ACCOUNTS.toLocaleString('en-US')} option accounts (10 options + 1 perpetual each)`);
  const options = optionAccounts(OPTION_ACCOUNTS, marks);
  const oursOptionMs = timeMedian(() => {
    for (let a = 0; a < options.length; a++) {
      const v = valueAccount(options[a] as Account, snapshot, AS_OF);
      sink += v.ratio ?? 0;
    }
  }, 5);
  log(`valueAccount (options): median ${oursOptionMs.toFixed(1)} ms for ${options.length} accounts`);
  const markMap = new Map(set.thresholds.map((t) => [t.instrument, t.referencePrice as number]));
  const volMap = new Map(
    set.thresholds.map((t) => [t.instrument, (t.components.effectiveVolatility as number) * Math.sqrt(365)]),
  );
  const floorOptionMs = optionFloor(options, markMap, volMap);
  log(`floor (10 × 27 Black-76 per account): median ${floorOptionMs.toFixed(1)} ms`);
  if (!Number.isFinite(sink)) log('(sink not finite: some account has no requirement)');

  const linearRate = (LINEAR_ACCOUNTS / oursLinearMs) * 1000;
  const linearRatio = oursLinearMs / parsingFloorMs;
  const optionRate = (OPTION_ACCOUNTS / oursOptionMs) * 1000;
  const optionFloorRate = (OPTION_ACCOUNTS / floorOptionMs) * 1000;
  const figures: BenchFigure[] = [
    {
      name: 'linear accounts/s (5 perps)',
      ours: linearRate,
      reference: (LINEAR_ACCOUNTS / parsingFloorMs) * 1000,
      unit: 'accounts/s',
      target: '≥ 1,000,000/s',
      met: linearRate >= 1_000_000,
      note: `one core, median of ${REPETITIONS} runs over ${LINEAR_ACCOUNTS.toLocaleString('en-US')} accounts; reference = hand-written floor loop reading the same account records`,
    },
    {
      name: 'linear time vs floor (same records)',
      ours: (oursLinearMs * 1e6) / LINEAR_ACCOUNTS,
      reference: (parsingFloorMs * 1e6) / LINEAR_ACCOUNTS,
      unit: 'ns/account',
      ratio: linearRatio,
      target: 'ratio ≤ 3',
      met: linearRatio <= 3,
      note: 'the floor reads the records as given: Number() of each decimal string, symbol → index by Map; valueAccount parses with its own exact decimal reader (amountToNumber, equal to Number() to the bit)',
    },
    {
      name: 'linear time vs pre-parsed floor',
      ours: (oursLinearMs * 1e6) / LINEAR_ACCOUNTS,
      reference: (floorLinearMs * 1e6) / LINEAR_ACCOUNTS,
      unit: 'ns/account',
      ratio: oursLinearMs / floorLinearMs,
      note: 'diagnostic, no target: the same floor on Float64Arrays parsed before timing, i.e. without reading the records at all',
    },
    {
      name: 'option accounts/s (10 opts + perp)',
      ours: optionRate,
      reference: optionFloorRate,
      unit: 'accounts/s',
      ratio: oursOptionMs / floorOptionMs,
      target: '≥ 50,000/s',
      met: optionRate >= 50_000,
      note: 'Deribit grid, 27 scenarios; reference = 10 × (27 + 1) black76Price calls per account in a plain loop (it shares normalCdf with valueAccount, so it speeds up with it); ratio = our time ÷ floor time',
    },
  ];
  return { title: 'Valuation (valueAccount, one core)', figures };
};

export default bench;
