/**
 * The daily stress run over the accounts table, fanned out by Scan segment like the sweep (docs/STRESS.md).
 * Each step every segment does its part of the cascade (`valueRound`, `closeOutFlows`, `badDebtAt`) and
 * records its result; the segment that records the last result runs the reduce step, which sums the
 * close-out orders over the segments, moves the marks (`applyImpact`) and queues the next step:
 *
 *   round 0 … round n (until settled or cut off) → bad-debt step (closed-out accounts at the final marks)
 *   → report stored with the threshold set, `stress.completed` on the ops topic.
 *
 * A step is reduced only when every segment has reported it: a failing segment is retried by its queue and
 * the run waits; nothing is marked complete from part of the book. Each step is reduced once (`advance` is
 * conditional); a repeated delivery records nothing twice and re-queues the next step at most (idempotent).
 */

import type { MarginLevels } from '../domain/account/state-machine.ts';
import {
  applyImpact,
  type BadDebtContributor,
  badDebtAt,
  type CascadeMarket,
  type CloseOutFlow,
  cascadeMultipliers,
  closeOutFlows,
  nextRound,
  planCascade,
  readStressAccounts,
  type StandingAccount,
  type StressError,
  type StressInstrument,
  type StressRound,
  valueRound,
} from '../domain/stress/cascade.ts';
import type { CascadePolicy } from '../domain/stress/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import { compareUnits, formatUnits, parseUnits, UnitSum, type Units } from '../domain/valuation/money.ts';
import type { ValuationPolicyInput } from '../domain/valuation/policy.ts';
import type {
  AccountSource,
  OpsPublisher,
  StoredStressReport,
  StressQueue,
  StressReportStore,
  StressRunState,
  StressRunStore,
  StressSegmentMessage,
  StressSegmentResult,
} from '../ports.ts';

/**
 * The cascade's market from the threshold set in force: each instrument at its reference close, with the
 * model's daily σ and the set's average daily volume (quote currency, so the impact is on quote notional).
 * An instrument without a reference close or σ cannot be stressed: it is named and left out (its accounts
 * are then named as unvaluable). Throws `StressInputError` for a shock on an instrument not in the set.
 */
export function stressMarketFromSet(
  set: ThresholdSet,
  settings: { readonly shocks: Readonly<Record<string, number>>; readonly cascade: CascadePolicy },
  levels: MarginLevels,
  asOf: number,
  valuationPolicy?: ValuationPolicyInput,
): { market: CascadeMarket; errors: StressError[] } {
  const errors: StressError[] = [];
  const instruments: StressInstrument[] = [];
  for (const threshold of set.thresholds) {
    const mark = threshold.referencePrice;
    const sigma = threshold.components.effectiveVolatility;
    if (mark === undefined || !(mark > 0) || sigma === undefined || !(sigma > 0)) {
      errors.push({
        kind: 'no-mark',
        key: threshold.instrument,
        reason: `${threshold.instrument} has no reference close or daily σ in set ${set.setId}: not stressed`,
      });
      continue;
    }
    const volume = threshold.liquidity?.averageDailyVolume;
    instruments.push({
      symbol: threshold.instrument,
      threshold,
      mark,
      dailyVolatility: sigma,
      ...(volume === undefined ? {} : { averageDailyVolume: volume }),
    });
  }
  const market: CascadeMarket = {
    instruments,
    shocks: settings.shocks,
    levels,
    policy: { ...settings.cascade, volumeUnit: 'quote' },
    asOf,
    ...(valuationPolicy === undefined ? {} : { valuationPolicy }),
  };
  planCascade(market, []); // refuse bad shocks now, before anything is stored or queued
  return { market, errors };
}

export interface StressRunPorts {
  readonly accounts: AccountSource;
  readonly runs: StressRunStore;
  readonly queue: StressQueue;
  readonly reports: StressReportStore;
  readonly ops: OpsPublisher;
}

export interface StressRunSettings {
  /** The insurance fund, quote currency: bad debt above it raises the alarm. */
  readonly insuranceFund: number;
  /** Largest bad debts kept in the stored report. */
  readonly topContributors?: number;
  /** Accounts per Scan page. */
  readonly pageSize?: number;
}

/**
 * Start a run: check the shocks (throws `StressInputError` before anything is queued), store the run and
 * queue round 0 for every segment. A repeated start of the same run id queues nothing.
 */
export async function startStressRun(
  ports: Pick<StressRunPorts, 'runs' | 'queue'>,
  request: {
    runId: string;
    setId: string;
    totalSegments: number;
    market: CascadeMarket;
    /** Instruments already named as not stressed (`stressMarketFromSet`). */
    errors?: readonly StressError[];
  },
): Promise<{ started: boolean }> {
  const errors: StressError[] = [...(request.errors ?? [])];
  const plan = planCascade(request.market, errors);
  const created = await ports.runs.create({
    runId: request.runId,
    setId: request.setId,
    totalSegments: request.totalSegments,
    market: request.market,
    step: 0,
    phase: 'round',
    marks: plan.round0,
    impact: { netNotional: {}, netQuantity: {}, noVolumeNamed: [] },
    rounds: [],
    errors,
    accountsStressed: 0,
    settled: true,
  });
  if (created) await ports.queue.enqueue(stepMessages(request.runId, 0, request.totalSegments));
  return { started: created };
}

export interface SegmentOutcome {
  readonly outcome: 'recorded' | 'reduced' | 'already-reduced';
  /** Set when this segment's result completed the run: the stored report. */
  readonly report?: StoredStressReport;
}

/**
 * One segment's part of one step. Throws when the segment cannot be read (its queue retries it); the step
 * then waits for it.
 */
export async function stressSegment(
  ports: StressRunPorts,
  settings: StressRunSettings,
  message: StressSegmentMessage,
): Promise<SegmentOutcome> {
  const run = await ports.runs.get(message.runId);
  if (run === undefined) throw new Error(`stress run ${message.runId} not found`);
  if (run.step !== message.step || run.phase === 'complete') {
    // A repeated delivery of a step already reduced: make sure the step after it was queued.
    await reduceStressStep(ports, settings, message.runId, message.step);
    return { outcome: 'already-reduced' };
  }
  const errors: StressError[] = [];
  const plan = planCascade(run.market, []);
  const records = await readSegment(ports.accounts, message, settings.pageSize ?? 500, errors);
  // Records are checked again each step, their errors reported in step 0 only.
  const all = readStressAccounts(records, message.step === 0 ? errors : []);
  const history = (await ports.runs.segmentHistory(message.runId, message.segment)).filter(
    (r) => r.step < message.step,
  );
  const roundOf = new Map<string, number>();
  const gone = new Set<string>();
  for (const r of history) {
    for (const id of r.liquidated) roundOf.set(id, r.step);
    for (const id of r.dropped) gone.add(id);
  }
  const standing = all.filter((e) => !roundOf.has(e.account.accountId) && !gone.has(e.account.accountId));
  let result: StressSegmentResult;
  if (run.phase === 'round') {
    const changed = run.changed === undefined ? undefined : new Set(run.changed);
    const { liquidated, survivors } = valueRound(plan, standing, run.marks, changed, errors);
    const kept = new Set([...liquidated, ...survivors].map((e) => e.account.accountId));
    result = {
      segment: message.segment,
      step: message.step,
      accounts: all.length,
      liquidated: liquidated.map((e) => e.account.accountId),
      dropped: standing.filter((e) => !kept.has(e.account.accountId)).map((e) => e.account.accountId),
      standing: survivors.length,
      flows: Object.fromEntries(closeOutFlows(liquidated, run.marks)),
      contributors: [],
      errors,
    };
  } else {
    const closedOut: { entry: StandingAccount; round: number }[] = [];
    for (const entry of all) {
      const round = roundOf.get(entry.account.accountId);
      if (round !== undefined) closedOut.push({ entry, round });
    }
    closedOut.sort((a, b) => a.round - b.round); // the one-process order: by round
    result = {
      segment: message.segment,
      step: message.step,
      accounts: all.length,
      liquidated: [],
      dropped: [],
      standing: standing.length,
      flows: {},
      contributors: badDebtAt(plan, closedOut, run.marks, errors),
      errors,
    };
  }
  const reported = await ports.runs.recordSegment(message.runId, result);
  if (reported < message.totalSegments) return { outcome: 'recorded' };
  const report = await reduceStressStep(ports, settings, message.runId, message.step);
  return { outcome: 'reduced', ...(report === undefined ? {} : { report }) };
}

/**
 * The reduce step, once every segment has reported `step`: sum their close-out orders, move the marks and
 * queue the next round or the bad-debt step; after the bad-debt step, store and publish the report.
 * Throws if a segment's result is missing (never reduces part of the book).
 */
export async function reduceStressStep(
  ports: StressRunPorts,
  settings: StressRunSettings,
  runId: string,
  step: number,
): Promise<StoredStressReport | undefined> {
  const run = await ports.runs.get(runId);
  if (run === undefined) throw new Error(`stress run ${runId} not found`);
  if (run.step === step + 1 && run.phase !== 'complete') {
    // Reduced by an earlier delivery which may have failed to queue the next step: queue it (again).
    await ports.queue.enqueue(stepMessages(runId, run.step, run.totalSegments));
    return undefined;
  }
  if (run.step !== step || run.phase === 'complete') return undefined;
  const results = [...(await ports.runs.segmentResults(runId, step))].sort((a, b) => a.segment - b.segment);
  const missing = missingSegments(results, run.totalSegments);
  if (missing.length > 0) {
    throw new Error(
      `stress run ${runId} step ${step}: segments ${missing.join(', ')} have not reported; the step is not reduced`,
    );
  }
  const errors = [...run.errors, ...results.flatMap((r) => r.errors)];
  if (run.phase === 'bad-debt') return finish(ports, settings, run, results, errors);
  const plan = planCascade(run.market, []);
  const impact = structuredClone(run.impact);
  const { marksAfter, moved, flows } = applyImpact(plan, impact, sumFlows(results), run.marks, errors);
  const liquidated = results.reduce((n, r) => n + r.liquidated.length, 0);
  const standing = results.reduce((n, r) => n + r.standing, 0);
  const decision = nextRound(plan, step, liquidated, standing, moved);
  const next: StressRunState = {
    ...run,
    step: step + 1,
    phase: decision === 'next' ? 'round' : 'bad-debt',
    marks: marksAfter,
    changed: [...moved],
    impact,
    rounds: [
      ...run.rounds,
      { round: step, marks: run.marks, accountsLiquidated: liquidated, flows, marksAfter },
    ],
    errors,
    accountsStressed: step === 0 ? results.reduce((n, r) => n + r.accounts, 0) : run.accountsStressed,
    settled: decision !== 'cut-off',
  };
  if (!(await ports.runs.advance(next, step))) return undefined;
  await ports.queue.enqueue(stepMessages(runId, next.step, run.totalSegments));
  return undefined;
}

/**
 * The alarm's rule: the bad debt of the configured shocks exceeds the insurance fund (strictly; a fund that
 * exactly covers it does not alarm). The stack's CloudWatch alarm applies the same rule to the metric.
 */
export function exceedsInsuranceFund(badDebtUnits: Units, insuranceFund: number): boolean {
  return compareUnits(badDebtUnits, parseUnits(String(insuranceFund))) > 0;
}

async function finish(
  ports: StressRunPorts,
  settings: StressRunSettings,
  run: StressRunState,
  results: readonly StressSegmentResult[],
  errors: StressError[],
): Promise<StoredStressReport> {
  const contributors: BadDebtContributor[] = results.flatMap((r) => r.contributors);
  const badDebt = new UnitSum();
  for (const c of contributors) badDebt.addUnits(c.badDebtUnits);
  contributors.sort((a, b) => compareUnits(b.badDebtUnits, a.badDebtUnits));
  const cascadeMultiplier = cascadeMultipliers(planCascade(run.market, []), run.marks);
  const total = badDebt.total();
  const exceeds = exceedsInsuranceFund(total, settings.insuranceFund);
  const accountsLiquidated = run.rounds.reduce((n, r) => n + r.accountsLiquidated, 0);
  const report: StoredStressReport = {
    runId: run.runId,
    setId: run.setId,
    shocks: run.market.shocks,
    rounds: await roundsWithIds(ports.runs, run),
    finalMarks: run.marks,
    cascadeMultiplier,
    badDebt: formatUnits(total),
    contributors: contributors.slice(0, settings.topContributors ?? 20).map((c) => ({
      accountId: c.accountId,
      round: c.round,
      badDebt: formatUnits(c.badDebtUnits),
    })),
    accountsStressed: run.accountsStressed,
    accountsLiquidated,
    settled: run.settled,
    insuranceFund: formatUnits(parseUnits(String(settings.insuranceFund))),
    exceedsInsuranceFund: exceeds,
    errors,
  };
  // Stored and published before the run is marked complete: a retry repeats them (at least once), never loses them.
  await ports.reports.save(run.setId, run.runId, report);
  await ports.ops.publish({
    type: 'stress.completed',
    runId: run.runId,
    setId: run.setId,
    shocks: run.market.shocks,
    rounds: run.rounds.length,
    accountsStressed: run.accountsStressed,
    accountsLiquidated,
    badDebt: report.badDebt,
    insuranceFund: report.insuranceFund,
    exceedsInsuranceFund: exceeds,
    settled: run.settled,
    cascadeMultiplier,
    errors: errors.length,
  });
  await ports.runs.advance({ ...run, step: run.step + 1, phase: 'complete', errors }, run.step);
  return report;
}

/** The rounds with their liquidated ids, read back from the segments' results (by segment, as reduced). */
async function roundsWithIds(runs: StressRunStore, run: StressRunState): Promise<StressRound[]> {
  const rounds: StressRound[] = [];
  for (const { accountsLiquidated, ...round } of run.rounds) {
    const results = [...(await runs.segmentResults(run.runId, round.round))].sort(
      (a, b) => a.segment - b.segment,
    );
    const liquidatedAccounts = results.flatMap((r) => r.liquidated);
    if (liquidatedAccounts.length !== accountsLiquidated) {
      throw new Error(
        `stress run ${run.runId} round ${round.round}: ${liquidatedAccounts.length} liquidated ids stored, ${accountsLiquidated} counted`,
      );
    }
    rounds.push({ ...round, liquidatedAccounts });
  }
  return rounds;
}

function sumFlows(results: readonly StressSegmentResult[]): Map<string, CloseOutFlow> {
  const total = new Map<string, CloseOutFlow>();
  for (const r of results) {
    for (const [symbol, f] of Object.entries(r.flows)) {
      const t = total.get(symbol);
      if (t === undefined) {
        total.set(symbol, { ...f });
        continue;
      }
      t.sellNotional += f.sellNotional;
      t.buyNotional += f.buyNotional;
      t.sellQuantity += f.sellQuantity;
      t.buyQuantity += f.buyQuantity;
    }
  }
  return total;
}

function missingSegments(results: readonly StressSegmentResult[], totalSegments: number): number[] {
  const have = new Set(results.map((r) => r.segment));
  return Array.from({ length: totalSegments }, (_, s) => s).filter((s) => !have.has(s));
}

function stepMessages(runId: string, step: number, totalSegments: number): StressSegmentMessage[] {
  return Array.from({ length: totalSegments }, (_, segment) => ({ runId, step, segment, totalSegments }));
}

async function readSegment(
  accounts: AccountSource,
  message: StressSegmentMessage,
  pageSize: number,
  errors: StressError[],
): Promise<unknown[]> {
  const records: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = await accounts.scanPage(
      { segment: message.segment, totalSegments: message.totalSegments },
      cursor,
      pageSize,
    );
    records.push(...page.accounts);
    if (message.step === 0) {
      for (const r of page.rejected) {
        errors.push({ kind: 'account-rejected', key: r.accountKey, reason: r.reason });
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return records;
}
