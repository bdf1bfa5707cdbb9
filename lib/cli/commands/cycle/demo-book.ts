/**
 * The demo book: 300 accounts sized on the prices of the run that seeded them, kept in the data dir's
 * database between runs, and re-seeded in a new database when the prices in use are not those it was sized on.
 */
import { rm } from 'node:fs/promises';
import type { AccountWriteResult } from '../../../adapters/dynamodb/account-writer.ts';
import type { CandleSeries } from '../../../domain/market/candle.ts';
import type { Threshold } from '../../../domain/threshold/threshold.ts';
import type { RejectedAccountRecord } from '../../../ports.ts';
import { demoAccounts } from '../../demo-accounts.ts';
import { UsageError } from '../../inputs.ts';
import {
  type DemoBookRecord,
  holdsDatabase,
  readBook,
  staleBookReason,
  writeBook,
} from '../../local-state.ts';
import { describe, LocalRunError } from './errors.ts';
import type { AccountWriter } from './local-stack.ts';

/** The demo book as the report gives it: what it was sized on, and whether this run (re)seeded it and why. */
export interface DemoBookReport {
  readonly sizedOn: Readonly<Record<string, number>>;
  readonly seeded: boolean;
  readonly reseeded?: string;
}

const DEMO_ACCOUNTS = 300;
const DEMO_SEED = 7;

/**
 * Before the database starts: does the data dir's database hold the right book? The demo book is re-seeded
 * (in a new database, with its outbox) when the prices in use are not those it was sized on, or when an
 * older qmt left a database without a book record; a database of the other kind is refused.
 * @returns why the demo book is re-seeded, if it is
 */
export async function checkBook(
  dbPath: string,
  dataDir: string,
  userAccounts: boolean,
  seriesList: readonly CandleSeries[],
): Promise<string | undefined> {
  const book = await readBook(dbPath);
  const hasData = await holdsDatabase(dbPath);
  if (userAccounts) {
    if (book?.kind === 'demo' || (book === undefined && hasData)) {
      throw new UsageError(
        `--data-dir ${dataDir} holds the demo book: give your accounts another --data-dir, or add --fresh to replace it`,
      );
    }
    return undefined;
  }
  if (book?.kind === 'accounts') {
    throw new UsageError(
      `--data-dir ${dataDir} holds accounts loaded with --accounts: run the demo with another --data-dir, or add --fresh to replace them`,
    );
  }
  const reason =
    book === undefined
      ? hasData
        ? 'the database has no record of the prices its demo book was sized on'
        : undefined
      : staleBookReason(book.sizedOn, lastCloses(seriesList));
  if (reason) await rm(dbPath, { recursive: true, force: true });
  return reason;
}

/** The last usable close of each series: the mark the recalibration will publish for a computed instrument. */
function lastCloses(seriesList: readonly CandleSeries[]): Map<string, number> {
  const marks = new Map<string, number>();
  for (const series of seriesList) {
    const last = series.candles.findLast((c) => Number.isFinite(c.close) && c.close > 0);
    if (last) marks.set(series.instrument, last.close);
  }
  return marks;
}

/**
 * The demo book of the database in `dbPath`, seeded if missing and finished if a run was cut short. The book
 * record (what it is sized on) is written first and marked complete last, so a failure part-way leaves a
 * record the next run regenerates the same accounts from; writes are puts by accountId, so repeats are harmless.
 */
export async function seedDemoBook(
  dbPath: string,
  thresholds: readonly Threshold[],
  asOf: number,
  write: AccountWriter,
): Promise<{ book: DemoBookRecord; seeded: boolean; rejected: readonly RejectedAccountRecord[] }> {
  const existing = await readBook(dbPath);
  if (existing?.kind === 'demo' && existing.complete) return { book: existing, seeded: false, rejected: [] };
  const book: DemoBookRecord =
    existing?.kind === 'demo'
      ? existing
      : {
          kind: 'demo',
          seed: DEMO_SEED,
          count: DEMO_ACCOUNTS,
          asOf,
          sizedOn: thresholds.flatMap(({ instrument, referencePrice, maintenanceMarginRate }) =>
            referencePrice !== undefined && referencePrice > 0
              ? [{ instrument, referencePrice, maintenanceMarginRate }]
              : [],
          ),
          complete: false,
        };
  await writeBook(dbPath, book);
  const accounts = demoAccounts(book.sizedOn, { count: book.count, seed: book.seed, asOf: book.asOf });
  let result: AccountWriteResult;
  try {
    result = await write(accounts);
  } catch (error) {
    throw new LocalRunError(
      `seeding the demo book (${accounts.length} accounts) failed: ${describe(error)}; the next run finishes it`,
      { cause: error },
    );
  }
  const complete: DemoBookRecord = { ...book, complete: true };
  await writeBook(dbPath, complete);
  return { book: complete, seeded: true, rejected: result.rejected };
}
