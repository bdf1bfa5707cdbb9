/**
 * `qmt run --accounts FILE --offline --json` end to end on DynamoDB Local (generated prices: needs only the
 * repository): records the accounts table cannot hold as they are are reported in `errors` by key and reason,
 * and the rest of the book is swept; a policy whose threshold items would be too large fails the run with a
 * clear error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runQmt } from '../cli/run-qmt.ts';

interface Output {
  errors: { kind: string; key: string; reason: string }[];
  counts: { accounts: number; rejected: number };
}

const run = (...argv: string[]) => runQmt(argv);

const cash = (accountId: string, amount = '1000') => ({
  accountId,
  collateral: [{ asset: 'USD', amount }],
  positions: [],
});

describe('qmt run: records and policies DynamoDB cannot hold', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('reports every copy of a repeated id, every record past a DynamoDB limit or without an id, and sweeps the rest', async () => {
    // Prepare: 30 good accounts; 'twin' twice in one write batch, 'far' in the first and the second batch;
    // an id of 3,000 bytes; an item of about 450 KB.
    const dir = await mkdtemp(join(tmpdir(), 'qmt-run-accounts-'));
    dirs.push(dir);
    const longId = 'L'.repeat(3000);
    const records: unknown[] = Array.from({ length: 30 }, (_, i) => cash(`good-${i}`));
    records.splice(0, 0, cash('far', '1'));
    records.splice(3, 0, cash('twin', '1'), cash('twin', '2'));
    records.push(cash('far', '2'), cash(longId), {
      ...cash('heavy'),
      collateral: Array.from({ length: 300 }, () => ({ asset: 'X'.repeat(1_500), amount: '1' })),
    });
    // Two records with no key to store them under: refused alone, by their place in the file.
    records.push({ collateral: [], positions: [] }, null);
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify(records));

    // Act
    const { code, out, err } = await run(
      'run',
      '--accounts',
      file,
      '--offline',
      '--data-dir',
      join(dir, 'data'),
      '--json',
    );

    // Assess: no stack trace, the run completes, each refused record is named once per copy.
    expect(err).toBe('');
    expect(code).toBe(0);
    const output = JSON.parse(out) as Output;
    const refused = output.errors.filter((e) => e.kind === 'account-rejected');
    expect(refused.filter((e) => e.key === 'twin')).toEqual([
      { kind: 'account-rejected', key: 'twin', reason: 'duplicate accountId (records 3 and 4 share it)' },
      { kind: 'account-rejected', key: 'twin', reason: 'duplicate accountId (records 3 and 4 share it)' },
    ]);
    expect(refused.filter((e) => e.key === 'far').map((e) => e.reason)).toEqual([
      'duplicate accountId (records 0 and 33 share it)',
      'duplicate accountId (records 0 and 33 share it)',
    ]);
    expect(refused.find((e) => e.key.startsWith('LLLL'))).toEqual({
      kind: 'account-rejected',
      key: `${'L'.repeat(40)}… (3000 bytes)`,
      reason: "partition key accountId is 3000 bytes, over DynamoDB's 2048-byte key limit",
    });
    expect(refused.find((e) => e.key === 'heavy')?.reason).toMatch(
      /^item is \d+ bytes, over DynamoDB's 400 KB item limit \(409600 bytes\)$/,
    );
    expect(refused.filter((e) => e.key.startsWith('record '))).toEqual([
      { kind: 'account-rejected', key: 'record 36', reason: 'no accountId (a non-empty string)' },
      { kind: 'account-rejected', key: 'record 37', reason: 'no accountId (a non-empty string)' },
    ]);
    expect(refused).toHaveLength(8);
    // The 30 good accounts, and none of the refused ones, were valued.
    expect(output.counts).toMatchObject({ accounts: 30, rejected: 8 });
  }, 180_000);

  it('refuses a policy whose threshold items would pass 400 KB at load, naming the field, not an SDK trace', async () => {
    // Prepare: 50 stress scenarios named in 9,000 characters each: ~450 KB of audit trail per instrument. The
    // policy refuses names over 128 characters; the store's own 400 KB check is proven in threshold-store tests.
    const dir = await mkdtemp(join(tmpdir(), 'qmt-run-policy-'));
    dirs.push(dir);
    const policy = join(dir, 'policy.json');
    const scenarios = Array.from({ length: 50 }, (_, i) => ({
      name: `${i}-${'s'.repeat(9_000)}`,
      kind: 'hypothetical',
      move: -0.3,
    }));
    await writeFile(policy, JSON.stringify({ stress: { scenarios } }));
    const accounts = join(dir, 'accounts.json');
    await writeFile(accounts, JSON.stringify([cash('a')]));
    // Act
    const { code, err } = await run(
      'run',
      '--accounts',
      accounts,
      '--policy',
      policy,
      '--offline',
      '--data-dir',
      join(dir, 'data'),
      '--json',
    );
    // Assess
    expect(code).toBe(1);
    expect(err).toMatch(/stress\.scenarios\.0\.name/);
    expect(err).toMatch(/128/);
    expect(err).not.toMatch(/ValidationException|\n\s+at /);
  }, 180_000);
});
