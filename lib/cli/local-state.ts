/**
 * What a local run keeps beside DynamoDB Local's files in `<data dir>/dynamodb/`: the database's id, so the
 * outbox knows which database its memory of published alerts belongs to, and the book record, which says
 * what the accounts table holds (the demo book, and the prices it was sized on, or the user's accounts).
 * Both live inside the database's folder, so removing the database removes them too.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Threshold } from '../domain/threshold/threshold.ts';

const DATABASE_ID_FILE = 'qmt-database-id';
const BOOK_FILE = 'qmt-book.json';

/** The part of a threshold a demo book is sized on. */
export type SizingThreshold = Pick<Threshold, 'instrument' | 'maintenanceMarginRate'> & {
  /** Only priced instruments size a book (a new listing held without a price has none). */
  readonly referencePrice: number;
};

export interface DemoBookRecord {
  readonly kind: 'demo';
  readonly seed: number;
  readonly count: number;
  /** The clock the book was generated at (options expire 30 days after it), ms. */
  readonly asOf: number;
  /** The marks and maintenance rates the accounts were sized on; the same values regenerate the same book. */
  readonly sizedOn: readonly SizingThreshold[];
  /** False until every account is written: a run that finds it false writes the book again (puts by accountId). */
  readonly complete: boolean;
}

export type BookRecord = DemoBookRecord | { readonly kind: 'accounts' };

/**
 * The id of the database in `dbPath`, created on first use: a new (or wiped) database gets a new id.
 *
 * @example
 * const id = await localDatabaseId('.qmt/dynamodb'); // '3f0c…'
 */
export async function localDatabaseId(dbPath: string): Promise<string> {
  const file = join(dbPath, DATABASE_ID_FILE);
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (id.length > 0) return id;
  } catch {
    // No id yet: a new database.
  }
  const id = randomUUID();
  await writeAtomically(file, `${id}\n`);
  return id;
}

/** The book record of the database in `dbPath`, or undefined if none was written (or it is unreadable). */
export async function readBook(dbPath: string): Promise<BookRecord | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(join(dbPath, BOOK_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'demo' || kind === 'accounts' ? (value as BookRecord) : undefined;
}

export async function writeBook(dbPath: string, record: BookRecord): Promise<void> {
  await writeAtomically(join(dbPath, BOOK_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** True if DynamoDB Local has left files in `dbPath` (a database from a run that wrote no book record). */
export async function holdsDatabase(dbPath: string): Promise<boolean> {
  try {
    return (await readdir(dbPath)).some((name) => name !== DATABASE_ID_FILE && name !== BOOK_FILE);
  } catch {
    return false;
  }
}

/** Write then rename, so a run killed mid-write leaves the old record, never half of a new one. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, 'utf8');
  await rename(temporary, file);
}

/** A mark this far (as a ratio either way) from the one a demo account was sized on makes the book stale. */
export const REPRICE_TOLERANCE = 1.2;

/**
 * Why a demo book sized on `sizedOn` must not be valued at `marks` (instrument → price in use), or undefined
 * if every instrument of the book is priced within {@link REPRICE_TOLERANCE} of its sizing mark.
 *
 * @example
 * staleBookReason([{ instrument: 'BTC', referencePrice: 30_000, maintenanceMarginRate: 0.05 }], new Map([['BTC', 15_000]]));
 * // 'the demo book was sized on BTC at 30,000.00; the prices in use have BTC at 15,000.00 (-50.0%)'
 */
export function staleBookReason(
  sizedOn: readonly SizingThreshold[],
  marks: ReadonlyMap<string, number>,
): string | undefined {
  const off: string[] = [];
  for (const t of sizedOn) {
    const mark = marks.get(t.instrument);
    if (mark === undefined || !(mark > 0)) off.push(`no price for ${t.instrument}`);
    else if (Math.max(mark / t.referencePrice, t.referencePrice / mark) > REPRICE_TOLERANCE)
      off.push(`${t.instrument} at ${price(mark)} (${percent(mark / t.referencePrice - 1)})`);
  }
  if (off.length === 0) return undefined;
  const sized = sizedOn.map((t) => `${t.instrument} at ${price(t.referencePrice)}`).join(', ');
  return `the demo book was sized on ${sized}; the prices in use have ${off.join(', ')}`;
}

/** One line on how far the marks moved since the book was sized (the demo's own price moves, not staleness). */
export function bookDrift(sizedOn: readonly SizingThreshold[], marks: ReadonlyMap<string, number>): string {
  return sizedOn
    .map((t) => {
      const mark = marks.get(t.instrument);
      return `${t.instrument} ${mark === undefined ? 'unpriced' : percent(mark / t.referencePrice - 1)}`;
    })
    .join(', ');
}

function price(x: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function percent(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}
