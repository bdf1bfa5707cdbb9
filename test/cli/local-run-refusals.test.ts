import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io.ts';
import { writeBook } from '../../lib/cli/local-state.ts';
import { main } from '../../lib/cli/main.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qmt-refuse-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const err: string[] = [];
  const io: Io = { out: () => undefined, err: (s) => err.push(s) };
  return { code: await main(argv, io), err: err.join('\n') };
}

describe('a data directory holds one kind of book', () => {
  // Both refusals happen before DynamoDB Local starts: nothing is written to the other book.
  it('refuses to load your accounts into the demo book’s database (a usage mistake: exit 2)', async () => {
    await mkdir(join(dir, 'dynamodb'), { recursive: true });
    await writeBook(join(dir, 'dynamodb'), {
      kind: 'demo',
      seed: 7,
      count: 300,
      asOf: 0,
      sizedOn: [],
      complete: true,
    });
    const accounts = join(dir, 'accounts.json');
    await writeFile(accounts, JSON.stringify([{ accountId: 'a-1', collateral: [], positions: [] }]));

    const { code, err } = await run('run', '--offline', '--accounts', accounts, '--data-dir', dir);

    expect(code).toBe(2);
    expect(err).toContain(`--data-dir ${dir} holds the demo book`);
  });

  it('refuses to run the demo on a database of your accounts', async () => {
    await mkdir(join(dir, 'dynamodb'), { recursive: true });
    await writeBook(join(dir, 'dynamodb'), { kind: 'accounts' });

    const { code, err } = await run('start', '--offline', '--data-dir', dir);

    expect(code).toBe(2);
    expect(err).toContain('holds accounts loaded with --accounts');
  });
});
