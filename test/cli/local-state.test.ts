import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  holdsDatabase,
  localDatabaseId,
  readBook,
  staleBookReason,
  writeBook,
} from '../../lib/cli/local-state.ts';

const sizedOn = [
  { instrument: 'BTC', referencePrice: 30_000, maintenanceMarginRate: 0.05 },
  { instrument: 'ETH', referencePrice: 2_000, maintenanceMarginRate: 0.06 },
];

describe('staleBookReason', () => {
  it('accepts marks within 20% of those the book was sized on', () => {
    expect(
      staleBookReason(
        sizedOn,
        new Map([
          ['BTC', 33_000],
          ['ETH', 1_700],
        ]),
      ),
    ).toBeUndefined();
  });

  it('names every instrument priced too far off, or not priced at all', () => {
    const reason = staleBookReason(sizedOn, new Map([['BTC', 15_000]]));
    expect(reason).toBe(
      'the demo book was sized on BTC at 30,000.00, ETH at 2,000.00; the prices in use have BTC at 15,000.00 (-50.0%), no price for ETH',
    );
    expect(
      staleBookReason(
        sizedOn,
        new Map([
          ['BTC', 36_001],
          ['ETH', 2_000],
        ]),
      ),
    ).toContain('BTC at 36,001.00');
  });
});

describe('the local database folder', () => {
  it('keeps one database id per folder, and a book record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qmt-state-'));
    const other = await mkdtemp(join(tmpdir(), 'qmt-state-'));
    try {
      expect(await holdsDatabase(dir)).toBe(false);
      const id = await localDatabaseId(dir);
      expect(await localDatabaseId(dir)).toBe(id);
      expect(await readBook(dir)).toBeUndefined();
      const book = { kind: 'demo', seed: 7, count: 3, asOf: 0, sizedOn, complete: false } as const;
      await writeBook(dir, book);
      expect(await readBook(dir)).toEqual(book);
      expect(await holdsDatabase(dir)).toBe(false); // only qmt's own files so far
      expect(await localDatabaseId(other)).not.toBe(id);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(other, { recursive: true, force: true });
    }
  });
});
