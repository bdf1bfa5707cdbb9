/**
 * Synthetic books and in-memory account stores for the breach-index bench and tests: seeded, so every run
 * values the same accounts.
 */
import type { Account, Position } from '../../../lib/domain/account/account.ts';
import { seededRandom } from '../../../lib/domain/math/random.ts';
import type {
  AccountLookup,
  AccountPage,
  AccountReader,
  AccountSource,
  ScanSegment,
} from '../../../lib/ports.ts';

/** A decimal string with `places` decimals, never zero (the schema wants non-zero quantities). */
export function decimal(x: number, places: number): string {
  const text = x.toFixed(places);
  return Number(text) === 0 ? (x < 0 ? '-' : '') + (10 ** -places).toFixed(places) : text;
}

export interface SyntheticBookOptions {
  /** Marks the book is opened at (entries within ±3% of them), per instrument. */
  readonly marks: Readonly<Record<string, number>>;
  /** Instruments options may be written on (a subset of `marks`). */
  readonly optionInstruments?: readonly string[];
  /** Share of accounts holding options (with a perpetual hedge on half of them). @default 0.01 */
  readonly optionShare?: number;
  /** Options' expiries are measured from here (epoch ms). */
  readonly asOf: number;
  readonly seed?: number;
  readonly prefix?: string;
  /** Share of accounts with collateral of 5%–15% of gross notional (near the levels). @default 0.15 */
  readonly nearLevelShare?: number;
}

/**
 * `count` accounts: most hold one to three linear perpetuals over the instruments (long or short,
 * $1k–$500k notional each, log-uniform), a slice holds options. Collateral is USDT, USD or the first
 * instrument's asset: 15%–100% of the gross notional (log-uniform) for most, 5%–15% for a slice
 * (`nearLevelShare`) that sits near the warning, margin-call and liquidation levels.
 */
export function syntheticBook(count: number, options: SyntheticBookOptions): Account[] {
  const random = seededRandom(options.seed ?? 20261124);
  const symbols = Object.keys(options.marks);
  const optionSymbols = options.optionInstruments ?? symbols.slice(0, 2);
  const optionShare = options.optionShare ?? 0.01;
  const prefix = options.prefix ?? 'acct';
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const accounts: Account[] = [];
  for (let a = 0; a < count; a++) {
    const positions: Position[] = [];
    let gross = 0;
    const withOptions = random() < optionShare;
    if (withOptions) {
      const underlying = pick(optionSymbols);
      const mark = options.marks[underlying] as number;
      const legs = 1 + Math.floor(random() * 3);
      for (let j = 0; j < legs; j++) {
        const notional = 1000 * 100 ** random();
        const days = 14 + Math.floor(random() * 166);
        positions.push({
          kind: 'option',
          instrument: underlying,
          optionType: random() < 0.5 ? 'call' : 'put',
          strike: decimal(mark * (0.8 + 0.4 * random()), 2),
          expiry: new Date(options.asOf + days * 86_400_000).toISOString(),
          quantity: decimal(((random() < 0.5 ? -1 : 1) * notional) / mark, 4),
          entryPrice: decimal(mark * 0.05, 2),
          markVolatility: 0.5 + 0.4 * random(),
        });
        gross += notional;
      }
      if (random() < 0.5) {
        const notional = 1000 * 100 ** random();
        positions.push(perpetual(underlying, mark, notional, random));
        gross += notional;
      }
    } else {
      const legs = 1 + Math.floor(random() * 3);
      const held = new Set<string>();
      for (let j = 0; j < legs; j++) {
        const symbol = pick(symbols);
        if (held.has(symbol)) continue;
        held.add(symbol);
        const notional = 1000 * 500 ** random();
        positions.push(perpetual(symbol, options.marks[symbol] as number, notional, random));
        gross += notional;
      }
    }
    // Most accounts well collateralised (ratio about 2–15 at a 7% maintenance rate); a slice near the levels.
    const near = random() < (options.nearLevelShare ?? 0.15);
    const collateralValue = gross * (near ? 0.05 + 0.1 * random() : 0.15 * (1 / 0.15) ** random());
    const kind = random();
    const asset = kind < 0.8 ? 'USDT' : kind < 0.9 ? 'USD' : (symbols[0] as string);
    const price = asset === 'USDT' || asset === 'USD' ? 1 : (options.marks[asset] as number);
    accounts.push({
      accountId: `${prefix}-${String(a).padStart(7, '0')}`,
      collateral: [
        { asset, amount: decimal(collateralValue / price, asset === 'USDT' || asset === 'USD' ? 2 : 6) },
      ],
      positions,
    });
  }
  return accounts;
}

function perpetual(symbol: string, mark: number, notional: number, random: () => number): Position {
  return {
    kind: 'perpetual',
    instrument: symbol,
    quantity: decimal(((random() < 0.5 ? -1 : 1) * notional) / mark, 6),
    entryPrice: decimal(mark * (0.97 + 0.06 * random()), 2),
    settlement: 'linear',
  };
}

/**
 * Accounts in memory, read both ways: Scan pages (the full sweep) and by id (the targeted sweep), with the
 * items and requests each way counted as DynamoDB would bill them (a Scan page of `pageSize`, a
 * BatchGetItem of up to 100 keys).
 */
export class InMemoryAccounts implements AccountSource, AccountReader {
  private readonly byId: Map<string, Account>;
  readonly reads = { scanPages: 0, scanItems: 0, batchGets: 0, getItems: 0 };

  constructor(private readonly accounts: readonly Account[]) {
    this.byId = new Map(accounts.map((a) => [a.accountId, a]));
  }

  async scanPage(segment: ScanSegment, cursor?: string, pageSize = 500): Promise<AccountPage> {
    const start = cursor === undefined ? 0 : Number(cursor);
    const mine: Account[] = [];
    let i = start;
    for (; i < this.accounts.length && mine.length < pageSize; i++) {
      if (i % segment.totalSegments === segment.segment) mine.push(this.accounts[i] as Account);
    }
    this.reads.scanPages++;
    this.reads.scanItems += mine.length;
    return { accounts: mine, rejected: [], ...(i < this.accounts.length ? { cursor: String(i) } : {}) };
  }

  async approximateCount(): Promise<number> {
    return this.accounts.length;
  }

  async getAccounts(accountIds: readonly string[]): Promise<AccountLookup> {
    const accounts: Account[] = [];
    const missing: string[] = [];
    for (const id of accountIds) {
      const account = this.byId.get(id);
      if (account) accounts.push(account);
      else missing.push(id);
    }
    this.reads.batchGets += Math.ceil(accountIds.length / 100);
    this.reads.getItems += accounts.length;
    return { accounts, rejected: [], missing };
  }
}
