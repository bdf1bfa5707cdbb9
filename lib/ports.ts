/**
 * The ports the use cases need. Adapters in `lib/adapters` implement them for AWS, exchanges and local
 * files; tests implement them in memory. Nothing in `lib/domain` or `lib/app` imports an adapter.
 */
import type { Account, MarginAlert, MarginStatus, MarginTransition } from './domain/account/account.ts';
import type { BreachIndexEntry, BreachIndexKey } from './domain/account/breach-index.ts';
import type { SetBacktestReport } from './domain/backtest/daily-report.ts';
import type { DailyWalkState } from './domain/backtest/daily-walk.ts';
import type { Candle, CandleSeries } from './domain/market/candle.ts';
import type {
  CatalogueEntry,
  DiscoveryVenue,
  VenueInstrumentList,
} from './domain/market/instrument-catalogue.ts';
import type { HeldMarkCause, MarkSnapshot, VenueMark } from './domain/market/mark.ts';
import type { MarksReport } from './domain/market/mark-report.ts';
import type {
  BadDebtContributor,
  CascadeMarket,
  CloseOutFlow,
  ImpactState,
  StressError,
  StressRound,
} from './domain/stress/cascade.ts';
import type { Threshold, ThresholdSet } from './domain/threshold/threshold.ts';

/** A time range in ms since the epoch, inclusive of `from`, exclusive of `to`. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

/** One venue (or a consensus of venues) that serves daily candles for qmt instruments. */
export interface MarketDataSource {
  readonly name: string;
  /**
   * Candles for `instrument` (a qmt symbol such as `BTC`), oldest first, covering `range`: daily, or the
   * source's bar length (`intervalMs`; hourly for an hourly MPOR).
   */
  candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries>;
  /** Implied volatility index (annualised fraction, e.g. 0.55), where the venue offers one. */
  impliedVolatility?(
    instrument: string,
    range: TimeRange,
    signal?: AbortSignal,
  ): Promise<ImpliedVolatilitySeries>;
}

/**
 * The candles qmt has already fetched, per venue, instrument and bar length (`lib/adapters/market/stored.ts`
 * keeps them, so a run fetches only what is new). Only completed, well-formed bars are ever stored.
 */
export interface CandleStore {
  /** The stored bars of `venue`/`instrument` at `intervalMs` whose open lies in `range`, oldest first. */
  read(venue: string, instrument: string, intervalMs: number, range: TimeRange): Promise<Candle[]>;
  /** Store these bars, replacing any stored bar with the same open time. */
  write(venue: string, instrument: string, intervalMs: number, candles: readonly Candle[]): Promise<void>;
  /** What was learnt of the venue's first bar, if anything (`HistoryStart`). */
  readHistoryStart(venue: string, instrument: string, intervalMs: number): Promise<HistoryStart | undefined>;
  /** Remember it, replacing what was known. */
  writeHistoryStart(
    venue: string,
    instrument: string,
    intervalMs: number,
    start: HistoryStart,
  ): Promise<void>;
}

/**
 * The venue had no bar with an open in [`from`, `before`) when asked at `learntAt` (ms): a lookback longer
 * than the venue's history need not ask for those bars again until the fact is re-checked.
 */
export interface HistoryStart {
  readonly from: number;
  readonly before: number;
  readonly learntAt: number;
}

/** A venue changed a bar qmt had already stored: the venue's bar replaced the stored one. */
export interface CandleRevision {
  readonly venue: string;
  readonly instrument: string;
  /** The bar's UTC day (YYYY-MM-DD) and open time (ms). */
  readonly day: string;
  readonly time: number;
  /** The stored close and the venue's new one (the OHLCV fields that changed are in `fields`). */
  readonly storedClose: number;
  readonly venueClose: number;
  readonly fields: readonly string[];
}

/**
 * Where a sweep's marks come from: one snapshot per sweep, shared by all its workers. The reference-close
 * source marks at each threshold's last daily close; the live source takes a consensus of venues.
 */
export interface MarkSource {
  readonly name: string;
  /** Marks for `instruments` now; an instrument without a usable mark is in `held` with the reason. */
  snapshot(instruments: readonly string[], signal?: AbortSignal): Promise<MarkSnapshot>;
}

/** One venue's public current-price endpoint (index, mark or ticker price). */
export interface VenueMarkSource {
  readonly venue: string;
  /**
   * The venue's current price for `instrument` (a qmt symbol); throws `MarketSourceError` when it has none,
   * and, like the candle sources, `InstrumentNotListedError` or `UnknownInstrumentError` when the catalogue
   * does not list it there.
   */
  mark(instrument: string, signal?: AbortSignal): Promise<VenueMark>;
}

export interface ImpliedVolatilitySeries {
  readonly instrument: string;
  readonly source: string;
  /** [time ms, annualised σ as a fraction], oldest first. */
  readonly points: readonly (readonly [number, number])[];
}

export interface ThresholdStore {
  /** The set CURRENT points at, read in one query; undefined before the first run. */
  currentSet(): Promise<ThresholdSet | undefined>;
  /**
   * Write every threshold of `set`, then flip CURRENT from `expectedPreviousSetId` to `set.setId` in one
   * conditional write. Throws `ThresholdSetConflictError` if another writer moved CURRENT first.
   */
  publishSet(set: ThresholdSet, expectedPreviousSetId: string | undefined): Promise<void>;
  /** One instrument's thresholds, newest first, for audit. */
  history(instrument: string, options?: { limit?: number; before?: string }): Promise<Threshold[]>;
}

/** The daily backtest of each threshold set, stored beside the set (EMIR Art. 49). */
export interface BacktestReportStore {
  /** Store (or replace) the report of `report.setId`. */
  record(report: SetBacktestReport): Promise<void>;
  /** The report stored for `setId`; undefined when none was (the backtest failed, or the set is older). */
  get(setId: string): Promise<SetBacktestReport | undefined>;
  /**
   * Each instrument's kept walk (`lib/domain/backtest/daily-walk.ts`), so the next run walks only the new
   * days. An instrument with none kept is absent; one that cannot be read says why (it is walked again).
   */
  walks(instruments: readonly string[]): Promise<ReadonlyMap<string, KeptWalk>>;
  /** Keep these walks, each replacing its instrument's earlier one. */
  recordWalks(walks: readonly DailyWalkState[]): Promise<void>;
}

/** A kept daily-backtest walk as read back: the state, or why it cannot be used. */
export type KeptWalk = { readonly state: DailyWalkState } | { readonly unreadable: string };

/** A Scan segment of the accounts table. */
export interface ScanSegment {
  readonly segment: number;
  readonly totalSegments: number;
}

/** A record that failed validation: its key and the reason, so the sweep can report it and go on. */
export interface RejectedAccountRecord {
  readonly accountKey: string;
  readonly reason: string;
}

export interface AccountPage {
  readonly accounts: readonly Account[];
  readonly rejected: readonly RejectedAccountRecord[];
  /** Opaque resume cursor; undefined when the segment is finished. */
  readonly cursor?: string;
}

export interface AccountSource {
  scanPage(segment: ScanSegment, cursor?: string, pageSize?: number): Promise<AccountPage>;
  /** Approximate number of accounts (for planning the segment count). */
  approximateCount(): Promise<number>;
}

export type TransitionOutcome = 'applied' | 'stale';

export interface MarginStatusStore {
  get(accountIds: readonly string[]): Promise<Map<string, MarginStatus>>;
  /**
   * Apply a transition only if the stored sequence equals `transition.expectedSequence` (0 = no item yet).
   * `stale` means a newer or duplicate writer got there first: nothing was written and nothing may be announced.
   */
  applyTransition(transition: MarginTransition): Promise<TransitionOutcome>;
  /**
   * Clear the status's `pendingAlert` (the transactional outbox entry written by `applyTransition`) once its
   * alert is published — only if the stored sequence is still `sequence`: a newer transition's pending alert
   * is left alone. A no-op when the sequence moved on or the account has no status. `stillWatched` false (the
   * alert moved the account back to OK) also takes the account off the watchlist. @default true
   */
  markAlertPublished(accountId: string, sequence: number, stillWatched?: boolean): Promise<void>;
  /**
   * The accounts whose status a sweep must read: not OK, or an alert still pending. Every other account is OK
   * with nothing pending. Undefined (or no method) means "unknown: read every status".
   */
  watchlist?(): Promise<ReadonlySet<string> | undefined>;
}

export interface AlertPublishResult {
  readonly published: readonly string[];
  /** alertIds that could not be published after retries, with the reason. */
  readonly failed: readonly { readonly alertId: string; readonly reason: string }[];
}

export interface AlertPublisher {
  publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult>;
}

/** Operational events for the ops topic. */
export type OpsEvent =
  | {
      readonly type: 'recalibration.completed';
      readonly runId: string;
      readonly setId: string;
      readonly instruments: number;
      readonly held: readonly { readonly instrument: string; readonly reason: string }[];
      readonly changes: readonly {
        readonly instrument: string;
        readonly from?: number;
        readonly to: number;
      }[];
    }
  | { readonly type: 'recalibration.failed'; readonly runId: string; readonly reason: string }
  | {
      /** The daily backtest of a published set (`lib/app/daily-backtest.ts`): zone and breaches per instrument. */
      readonly type: 'backtest.completed';
      readonly runId: string;
      readonly setId: string;
      readonly scoredDays: number;
      /** The worst zone over the instruments. */
      readonly zone: string;
      readonly instruments: readonly {
        readonly instrument: string;
        readonly zone: string;
        readonly observations: number;
        readonly longBreaches: number;
        readonly shortBreaches: number;
        readonly cost: number;
      }[];
      readonly failed: readonly { readonly instrument: string; readonly reason: string }[];
      /** Set when the report could not be stored: the summary is then the only record. */
      readonly notStored?: string;
    }
  | {
      /** The daily backtest could not run at all; the set it was for stays published. */
      readonly type: 'backtest.failed';
      readonly runId: string;
      readonly setId: string;
      readonly reason: string;
    }
  | {
      /** A shock recalibration raised one instrument's margins at once (`lib/app/shock-recalibration.ts`). */
      readonly type: 'recalibration.shock';
      readonly runId: string;
      readonly setId: string;
      readonly instrument: string;
      /** The live mark that triggered it (ISO time), the reference price and the relative move between them. */
      readonly mark: number;
      readonly markAt: string;
      readonly referencePrice: number;
      readonly move: number;
      /** Initial margin rates before and after. */
      readonly from: number;
      readonly to: number;
      /** The rule that set the new rate (`step-up-limit` when the limit held it back). */
      readonly activeBound: string;
      /** This run's number among the instrument's shock runs that UTC day, and the policy's cap. */
      readonly runOfDay: number;
      readonly maxRunsPerDay: number;
    }
  | {
      readonly type: 'sweep.completed';
      readonly runId: string;
      /** The Scan or targeted segment; absent for the watch's own targeted look (no segment). */
      readonly segment?: number;
      readonly counts: Readonly<Record<string, number>>;
      /** The marks valued at: source (`live`, `reference-close`), time taken, instruments held. */
      readonly marks?: MarksReport;
    }
  | {
      /** A sweep segment that failed and was not retried in place (the local cycle, which has no SQS). */
      readonly type: 'sweep.failed';
      readonly runId: string;
      /** The Scan or targeted segment; absent for the watch's own targeted look (no segment). */
      readonly segment?: number;
      readonly reason: string;
    }
  | {
      /**
       * Some of a crash minute's targeted segments could not be invoked directly and were sent to the sweep
       * queue instead (slower to start, same segments, same idempotent sweep).
       */
      readonly type: 'sweep.targeted-fallback';
      /** The watch's minute (`watch-<scheduled time>`). */
      readonly runId: string;
      /** Segments not invoked, now queued. */
      readonly segments: number;
      /** Segments of the minute. */
      readonly totalSegments: number;
      /** The first failed invoke's reason. */
      readonly reason: string;
    }
  | {
      /**
       * The full sweep a shock recalibration starts could not be queued: the raised set stands and the
       * coordinator's next scheduled sweep values against it.
       */
      readonly type: 'sweep.not-queued';
      /** The sweep that was not queued (`sweep-<shock run id>`). */
      readonly runId: string;
      /** The raised set it was to value against. */
      readonly setId: string;
      /** The instruments the shock raised. */
      readonly instruments: readonly string[];
      readonly reason: string;
    }
  | {
      /** A fanned-out stress run finished (`lib/app/stress-run.ts`); the full report is stored with the set. */
      readonly type: 'stress.completed';
      readonly runId: string;
      readonly setId: string;
      readonly shocks: Readonly<Record<string, number>>;
      readonly rounds: number;
      readonly accountsStressed: number;
      readonly accountsLiquidated: number;
      /** Quote currency, exact decimal strings. */
      readonly badDebt: string;
      readonly insuranceFund: string;
      readonly exceedsInsuranceFund: boolean;
      /** False when the round limit cut the cascade off. */
      readonly settled: boolean;
      readonly cascadeMultiplier: Readonly<Record<string, number | null>>;
      /** Records and instruments reported in the stored report's errors. */
      readonly errors: number;
    }
  | {
      /** Live marks held instruments (no quorum, stale, an unconfirmed jump): their accounts stay where they are. */
      readonly type: 'marks.held';
      readonly runId: string;
      /** When the marks were taken (ISO 8601, UTC). */
      readonly takenAt: string;
      readonly held: readonly {
        readonly instrument: string;
        readonly reason: string;
        readonly cause?: HeldMarkCause;
      }[];
    }
  | {
      /**
       * Venues revised candles qmt had stored (found in a run's re-check window): the venue's bars replaced
       * the stored ones and the run computed from them.
       */
      readonly type: 'candles.revised';
      readonly runId: string;
      readonly revisions: readonly CandleRevision[];
    }
  | {
      readonly type: 'accounts.rejected';
      readonly runId: string;
      readonly rejected: readonly RejectedAccountRecord[];
    }
  | {
      /** New instruments in the discovered catalogue: recalibrated from their first day, held at the cap until their history suffices. */
      readonly type: 'instruments.listed';
      readonly runId: string;
      readonly listed: readonly CatalogueEntry[];
    }
  | {
      /**
       * Instruments no venue lists any more: dropped from the set, so an account still holding one is not
       * valued (no market data) rather than valued at a stale price. `holders` names those accounts.
       */
      readonly type: 'instruments.delisted';
      readonly runId: string;
      readonly delisted: readonly {
        readonly instrument: string;
        readonly reason: string;
        readonly holders: readonly string[];
      }[];
      /** Set when the accounts could not all be read: holders may be missing, and why. */
      readonly holdersIncomplete?: string;
    }
  | {
      /** Venues whose instrument list could not be read this run: their previous names were kept. */
      readonly type: 'instruments.venues-kept';
      readonly runId: string;
      readonly venues: readonly { readonly venue: string; readonly reason: string }[];
    };

/** The venues' instrument lists, read once per run (`lib/adapters/market/instrument-lists.ts`). */
export interface InstrumentListSource {
  /** One list per venue asked for; a venue that cannot answer comes back `failed` with the reason. */
  read(venues: readonly DiscoveryVenue[], signal?: AbortSignal): Promise<VenueInstrumentList[]>;
}

export interface OpsPublisher {
  publish(event: OpsEvent): Promise<void>;
}

export interface Lease {
  readonly runId: string;
  readonly holder: string;
  readonly expiresAt: number;
}

export type RunOutcome = 'succeeded' | 'failed' | 'skipped';

export interface RunLedger {
  /** Take the recalibration lease for `runId`; undefined if another live holder has it or the run already finished. */
  acquire(runId: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  complete(
    lease: Lease,
    outcome: RunOutcome,
    counts: Readonly<Record<string, number>>,
    detail?: string,
  ): Promise<void>;
}

export interface Clock {
  now(): number;
}

/** Accounts read by id (the targeted sweep reads only the accounts a move may have pushed over a level). */
export interface AccountReader {
  /**
   * The accounts with these ids. A bad record is in `rejected` (key and reason); an id with no record is in
   * `missing` (the account was closed: its index entries are stale). Nothing is dropped silently.
   */
  getAccounts(accountIds: readonly string[]): Promise<AccountLookup>;
}

export interface AccountLookup {
  readonly accounts: readonly Account[];
  readonly rejected: readonly RejectedAccountRecord[];
  readonly missing: readonly string[];
}

/**
 * The breach index: per threshold set, per instrument, each account's band (`lib/domain/account/breach.ts`).
 * Entries of one set never answer for another: a new set starts empty, so the sweep after a recalibration is
 * a full sweep.
 */
export interface BreachIndex {
  /**
   * Store these entries, replacing each (setId, instrument, accountId)'s previous one, and delete the
   * `removals` (an account's every-sweep entry once it has a real band).
   */
  record(
    setId: string,
    entries: readonly BreachIndexEntry[],
    removals?: readonly BreachIndexKey[],
    stamps?: readonly BandStamp[],
  ): Promise<void>;
  /**
   * What `record` last wrote for these accounts in `setId` (absent: never, or expired). The full sweep
   * compares it with the account it holds and rewrites only bands that changed. Written after the
   * entries it describes, so a stamp never vouches for entries that were not stored.
   */
  stamps?(setId: string, accountIds: readonly string[]): Promise<ReadonlyMap<string, BandStamp>>;
  /** Accounts with an entry for `instrument` in `setId` that `mark` crosses: below ≥ mark or above ≤ mark. */
  crossed(setId: string, instrument: string, mark: number): Promise<readonly string[]>;
}

/**
 * An account's last recorded band: a fingerprint of what it was computed from (the account record, its
 * state, the levels), its entries' edges, and when it was written (epoch ms).
 */
export interface BandStamp {
  readonly accountId: string;
  readonly fingerprint: string;
  readonly entries: readonly BreachIndexEntry[];
  readonly writtenAt: number;
}

/** A segment to sweep, from the start or from a worker's checkpoint (`cursor`). */
export interface SegmentMessage {
  readonly runId: string;
  readonly segment: number;
  readonly totalSegments: number;
  /** Opaque Scan checkpoint from the account source; absent to start the segment from its beginning. */
  readonly cursor?: string;
  /**
   * The marks the whole sweep values at, taken once by whoever started it; a continuation carries the same.
   * Absent only when there was no CURRENT set to mark (or from a sender before marks travelled): the worker
   * then takes its own.
   */
  readonly marks?: MarkSnapshot;
}

/** Where segment messages go: one message per Scan segment, or per continuation of one. */
export interface SweepQueue {
  /** Send every message, or throw `IncompleteBatchError` naming the segments (`runId#segment`) not sent. */
  enqueue(messages: readonly SegmentMessage[]): Promise<void>;
}

/**
 * A share of one minute's targeted sweep, fanned out by the market watch when it crossed more accounts
 * than one function announces within the minute: the ids to revisit, the marks and the set they were
 * crossed at. Every segment of the minute carries the same snapshot, so all workers value at the same prices.
 */
export interface TargetedSegmentMessage {
  readonly kind: 'targeted';
  /** The watch's minute (`watch-<scheduled time>`): a repeated minute sends the same segments again. */
  readonly runId: string;
  readonly segment: number;
  readonly totalSegments: number;
  /** The set whose bands were crossed: a worker finding another set CURRENT skips (its full sweep covers them). */
  readonly setId: string;
  /** The accounts to revisit, sorted; a segment of the minute's crossed ids. */
  readonly accountIds: readonly string[];
  readonly marks: MarkSnapshot;
}

/** Where the market watch sends a crash minute's targeted segments (the sweep workers' queue). */
export interface TargetedSweepQueue {
  /** Send every message, or throw `IncompleteBatchError` naming the segments (`runId#t<segment>`) not sent. */
  enqueueTargeted(messages: readonly TargetedSegmentMessage[]): Promise<void>;
}

/** A targeted segment the direct invoke did not hand over, and why (it then goes to the sweep queue). */
export interface TargetedSegmentNotInvoked {
  readonly segment: number;
  readonly reason: string;
}

/**
 * Hands a crash minute's targeted segments straight to the sweep workers, one asynchronous invocation each:
 * no queue poller to ramp up, so the workers start within seconds rather than over minutes.
 */
export interface TargetedSweepInvoker {
  /** Hand every message over; resolves with those not accepted (none when all were), never rejects for one. */
  invokeTargeted(messages: readonly TargetedSegmentMessage[]): Promise<readonly TargetedSegmentNotInvoked[]>;
}

/**
 * One step of a fanned-out stress run for one segment of the accounts table: value the segment's accounts
 * at the round's marks (`round`), or price its closed-out accounts at the final marks (`bad-debt`).
 */
export interface StressSegmentMessage {
  readonly runId: string;
  readonly step: number;
  readonly segment: number;
  readonly totalSegments: number;
}

/** What one segment found in one step: the reduce step sums these over the segments. */
export interface StressSegmentResult {
  readonly segment: number;
  readonly step: number;
  /** Valid accounts in the segment (counted in step 0). */
  readonly accounts: number;
  /** Accounts in LIQUIDATION at the round's marks, closed out now. */
  readonly liquidated: readonly string[];
  /** Accounts that could not be valued this step (named in `errors`, dropped from the run). */
  readonly dropped: readonly string[];
  /** Accounts still standing after this step. */
  readonly standing: number;
  /** The liquidated accounts' close-out orders per instrument, at the round's marks. */
  readonly flows: Readonly<Record<string, CloseOutFlow>>;
  /** Bad-debt step only: the segment's closed-out accounts with equity below zero at the final marks. */
  readonly contributors: readonly BadDebtContributor[];
  readonly errors: readonly StressError[];
}

/** A stress run between steps: what the reduce step carries from one round to the next. */
export interface StressRunState {
  readonly runId: string;
  /** The threshold set the run stresses (its report is stored with it). */
  readonly setId: string;
  readonly totalSegments: number;
  readonly market: CascadeMarket;
  /** The step the segments are working on; a round while `phase` is `round`. */
  readonly step: number;
  readonly phase: 'round' | 'bad-debt' | 'complete';
  /** The marks of the current round (the final marks in the bad-debt step). */
  readonly marks: Readonly<Record<string, number>>;
  /** Instruments whose mark the last round moved; undefined in round 0 (value every account). */
  readonly changed?: readonly string[];
  readonly impact: ImpactState;
  /**
   * The rounds so far with how many each liquidated, not who: the ids stay in the segments' results (each
   * segment reads this item every step, and a large book's ids would pass an item's 400 KB).
   */
  readonly rounds: readonly StressRoundSummary[];
  readonly errors: readonly StressError[];
  readonly accountsStressed: number;
  readonly settled: boolean;
}

/** A round as the run carries it between steps: its liquidated accounts counted (`StressRound` lists them). */
export type StressRoundSummary = Omit<StressRound, 'liquidatedAccounts'> & {
  readonly accountsLiquidated: number;
};

export interface StressRunStore {
  /** Create the run; false if a run with this id exists (a repeated start). */
  create(state: StressRunState): Promise<boolean>;
  get(runId: string): Promise<StressRunState | undefined>;
  /**
   * Record a segment's result for a step, once (a repeated delivery keeps the first); resolves to how many
   * distinct segments have reported for that step.
   */
  recordSegment(runId: string, result: StressSegmentResult): Promise<number>;
  /** Every segment's result for a step. */
  segmentResults(runId: string, step: number): Promise<readonly StressSegmentResult[]>;
  /** One segment's results in every step so far. */
  segmentHistory(runId: string, segment: number): Promise<readonly StressSegmentResult[]>;
  /** Move the run from `fromStep` to `next`; false if another reducer already did (each step is reduced once). */
  advance(next: StressRunState, fromStep: number): Promise<boolean>;
}

/** The stress reports, stored with the threshold set they stressed. */
export interface StressReportStore {
  save(setId: string, runId: string, report: StoredStressReport): Promise<void>;
}

/** A cascade report as stored: amounts as exact decimal strings, the largest bad debts only. */
export interface StoredStressReport {
  readonly runId: string;
  readonly setId: string;
  readonly shocks: Readonly<Record<string, number>>;
  readonly rounds: readonly StressRound[];
  readonly finalMarks: Readonly<Record<string, number>>;
  readonly cascadeMultiplier: Readonly<Record<string, number | null>>;
  readonly badDebt: string;
  readonly contributors: readonly {
    readonly accountId: string;
    readonly round: number;
    readonly badDebt: string;
  }[];
  readonly accountsStressed: number;
  readonly accountsLiquidated: number;
  readonly settled: boolean;
  readonly insuranceFund: string;
  readonly exceedsInsuranceFund: boolean;
  readonly errors: readonly StressError[];
}

export interface StressQueue {
  /** Send every message, or throw naming the ones not sent. */
  enqueue(messages: readonly StressSegmentMessage[]): Promise<void>;
}

/**
 * Where a function reads its configuration document (AppConfig in the deployed stack). `document()` answers
 * from a cache while it is fresh, so calling it on every invocation costs a call only when the cache is stale.
 */
export interface ConfigDocumentSource {
  /** Names the document in logs and errors, e.g. `AppConfig qmt-prod/…/…`. */
  readonly name: string;
  /** The document's text (JSON), as last deployed. Throws when it cannot be read. */
  document(): Promise<string>;
}
