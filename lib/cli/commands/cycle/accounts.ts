/** Step 4 of the local cycle: the accounts to sweep, the user's file or the demo book. */
import { readFile } from 'node:fs/promises';
import { deleteAccountsNotIn } from '../../../adapters/dynamodb/account-writer.ts';
import type { DynamoDbLocal } from '../../../adapters/local/dynamodb-local.ts';
import type { Account } from '../../../domain/account/account.ts';
import type { ThresholdSet } from '../../../domain/threshold/threshold.ts';
import type { RejectedAccountRecord } from '../../../ports.ts';
import { UsageError } from '../../inputs.ts';
import type { Io } from '../../io.ts';
import { bookDrift, staleBookReason, writeBook } from '../../local-state.ts';
import { type DemoBookReport, seedDemoBook } from './demo-book.ts';
import { LocalRunError } from './errors.ts';
import type { AccountWriter } from './local-stack.ts';

export interface LoadAccountsOptions {
  readonly db: DynamoDbLocal;
  readonly writer: AccountWriter;
  /** The kept database's directory; undefined for an in-memory one. */
  readonly dbPath: string | undefined;
  /** The user's accounts and the file they came from; undefined for the demo book. */
  readonly userAccounts: readonly Account[] | undefined;
  readonly accountsFile: string | undefined;
  /** The threshold set the demo book is sized on (when seeded) or checked against. */
  readonly set: ThresholdSet;
  readonly clock: number;
  /** Why the demo book was re-seeded before the database started, if it was. */
  readonly reseeded: string | undefined;
  readonly io: Io;
  readonly quiet: boolean;
}

/**
 * Store the user's accounts (a kept database mirrors the file), or seed the demo book once (later runs
 * re-value the same accounts). Records the table cannot hold as they are (a repeated id, an id or item past
 * DynamoDB's limits) are refused by the writer, by key and reason; the rest are written and swept.
 */
export async function loadAccounts(
  options: LoadAccountsOptions,
): Promise<{ refused: readonly RejectedAccountRecord[]; demoBook?: DemoBookReport }> {
  const { db, dbPath, userAccounts, set, reseeded, io, quiet } = options;
  if (userAccounts) {
    if (dbPath) await writeBook(dbPath, { kind: 'accounts' });
    const refused = (await options.writer(userAccounts)).rejected;
    // A kept database mirrors the file: an account dropped from it is no longer valued or announced.
    if (dbPath) {
      const dropped = await deleteAccountsNotIn(
        db.client,
        db.tables.accounts,
        new Set(userAccounts.map((a) => a?.accountId).filter((id) => typeof id === 'string')),
      );
      if (quiet && dropped > 0) io.out(`${dropped} account(s) no longer in ${options.accountsFile} removed`);
    }
    return { refused };
  }
  if (!dbPath) return { refused: [] };
  const marks = new Map(
    set.thresholds.flatMap((t) => (t.referencePrice === undefined ? [] : [[t.instrument, t.referencePrice]])),
  );
  const { book, seeded, rejected } = await seedDemoBook(
    dbPath,
    set.thresholds,
    options.clock,
    options.writer,
  );
  // Never value a book sized for other prices without saying so (the check before start re-seeds).
  const stale = seeded ? undefined : staleBookReason(book.sizedOn, marks);
  if (stale) {
    throw new LocalRunError(`${stale}; run again with --fresh to size a new demo book on these prices`);
  }
  const demoBook: DemoBookReport = {
    sizedOn: Object.fromEntries(book.sizedOn.map((t) => [t.instrument, t.referencePrice])),
    seeded,
    ...(reseeded === undefined ? {} : { reseeded }),
  };
  if (quiet) {
    if (reseeded) io.out(`demo book re-seeded: ${reseeded}`);
    io.out(
      seeded
        ? `demo book: ${book.count} accounts sized on this run's prices`
        : `demo book: ${book.count} accounts sized on ${new Date(book.asOf).toISOString().slice(0, 10)}'s prices; marks since: ${bookDrift(book.sizedOn, marks)}`,
    );
  }
  return { refused: rejected, demoBook };
}

/** The accounts of a `--accounts` file: an array of account records, or `{ "accounts": [...] }`. */
export async function readAccounts(path: string): Promise<Account[]> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--accounts ${path}: ${(error as Error).message}`, { cause: error });
  }
  const records = Array.isArray(document) ? document : (document as { accounts?: unknown })?.accounts;
  if (!Array.isArray(records))
    throw new UsageError(`--accounts ${path}: expected an array of accounts (or { "accounts": [...] })`);
  // The writer refuses a record without a usable key by its place in the file; the sweep validates the rest
  // and reports it. One bad record never stops the others.
  return records as Account[];
}
