/**
 * The prepared-instrument cache of one snapshot: each instrument prepared on first use (null when the
 * snapshot has no market for it), and each expiry date parsed once. Owned by the snapshot's valuer.
 */
import { Expiry, type PreparedInstrument, prepareInstrument } from './instrument.ts';
import type { ValuationPolicy } from './policy.ts';
import type { ScenarioGrid } from './scenarios.ts';
import type { MarketSnapshot } from './snapshot.ts';

const RECENT_INSTRUMENTS = 8;
const MAX_CACHED_EXPIRIES = 10_000;

export class InstrumentCache {
  private readonly instruments = new Map<string, PreparedInstrument | null>();
  /**
   * The last few instruments looked up, checked by string equality before the Map: an account holds few
   * symbols, and comparing a short (usually identical) string beats hashing it for every position.
   */
  private readonly recentSymbols: string[] = [];
  private readonly recentInstruments: (PreparedInstrument | null)[] = [];
  private recentNext = 0;
  private readonly expiries = new Map<string, Expiry>();

  constructor(
    private readonly snapshot: MarketSnapshot,
    private readonly grid: ScenarioGrid,
    private readonly policy: ValuationPolicy,
  ) {}

  /** The prepared instrument, or null when the snapshot has no market for it. */
  instrument(instrument: string): PreparedInstrument | null {
    const symbols = this.recentSymbols;
    for (let k = 0; k < symbols.length; k++) {
      if (symbols[k] === instrument) return this.recentInstruments[k] as PreparedInstrument | null;
    }
    return this.lookUp(instrument);
  }

  /** Past the recent few: the Map (preparing on first use), and the instrument becomes a recent one. */
  private lookUp(instrument: string): PreparedInstrument | null {
    let prep = this.instruments.get(instrument);
    if (prep === undefined) {
      const market = this.snapshot.instruments.get(instrument);
      prep = market ? prepareInstrument(market, this.grid, this.policy) : null;
      this.instruments.set(instrument, prep);
    }
    const slot = this.recentNext;
    this.recentSymbols[slot] = instrument;
    this.recentInstruments[slot] = prep;
    this.recentNext = (slot + 1) % RECENT_INSTRUMENTS;
    return prep;
  }

  expiry(expiry: string): Expiry {
    let cached = this.expiries.get(expiry);
    if (cached === undefined) {
      cached = new Expiry(Date.parse(expiry));
      if (this.expiries.size >= MAX_CACHED_EXPIRIES) this.expiries.clear();
      this.expiries.set(expiry, cached);
    }
    return cached;
  }
}
