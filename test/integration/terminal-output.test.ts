/**
 * `qmt run` on a terminal, end to end (DynamoDB Local, the real handlers): a record whose id holds escape
 * sequences is reported escaped, and a venue error is cut at a word boundary on the terminal but carried
 * whole by `--json`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cli/commands/cycle.ts';
import type { Io } from '../../lib/cli/io.ts';
import { main } from '../../lib/cli/main.ts';
import type { MarketDataSource } from '../../lib/ports.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const EVIL_ID = '\u001b[2J\u001b]0;pwn\u0007';

function capture(): { io: Io; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (s) => out.push(s), err: (s) => err.push(s) },
    out: () => out.join('\n'),
    err: () => err.join('\n'),
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qmt-terminal-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function accountsFile(): Promise<string> {
  const file = join(dir, 'accounts.json');
  await writeFile(
    file,
    JSON.stringify([
      { accountId: EVIL_ID, collateral: [{ asset: 'USD', amount: 'lots' }], positions: [] },
      {
        accountId: 'acc-1',
        collateral: [{ asset: 'USD', amount: '100000' }],
        positions: [
          { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '30000', settlement: 'linear' },
        ],
      },
    ]),
  );
  return file;
}

describe('qmt run on a terminal', () => {
  it('prints a rejected record whose id holds escape sequences escaped, and --json carries it exactly', async () => {
    // Prepare
    const file = await accountsFile();
    const human = capture();
    const json = capture();
    // Act
    const humanCode = await main(
      ['run', '--offline', '--accounts', file, '--data-dir', join(dir, 'human')],
      human.io,
    );
    const jsonCode = await main(
      ['run', '--offline', '--accounts', file, '--data-dir', join(dir, 'json'), '--json'],
      json.io,
    );
    // Assess: on the terminal, the id is visible text; nothing can clear the screen or set the title.
    expect(humanCode).toBe(0);
    expect(human.out()).not.toMatch(RAW_CONTROL);
    expect(human.err()).not.toMatch(RAW_CONTROL);
    expect(human.out()).toContain('rejected \\u001b[2J\\u001b]0;pwn\\u0007: ');
    // --json: valid JSON, escaped by JSON.stringify, naming the record by its exact id.
    expect(jsonCode).toBe(0);
    expect(json.out()).not.toMatch(RAW_CONTROL);
    const report = JSON.parse(json.out()) as { errors: { kind: string; key: string }[] };
    expect(report.errors).toContainEqual(expect.objectContaining({ kind: 'account-rejected', key: EVIL_ID }));
  });

  it('cuts a long venue error at a word boundary on the terminal, and --json carries the whole cause', async () => {
    // Prepare: every venue down, with a cause longer than a terminal line.
    const cause = `consensus BTC: fewer venues than the quorum agreed: ${Array.from(
      { length: 40 },
      (_, i) => `venue${i} failed (HTTP 503: upstream reset)`,
    ).join('; ')}`;
    const venuesDown: MarketDataSource = {
      name: 'consensus',
      candles: async () => {
        throw new Error(cause);
      },
    };
    const file = await accountsFile();
    const human = capture();
    const json = capture();
    const options = { accounts: file, live: venuesDown };
    // Act
    await runCycle({ ...options, dataDir: join(dir, 'human') }, human.io);
    const report = await runCycle({ ...options, dataDir: join(dir, 'json'), json: true }, json.io);
    // Assess: the terminal line ends on a whole word with '…'; the report keeps the whole cause.
    const line = human
      .out()
      .split('\n')
      .find((l) => l.startsWith('  BTC: live venues unavailable'));
    expect(line?.endsWith('…')).toBe(true);
    expect(line?.length).toBeLessThanOrEqual(2 + 200);
    const kept = (line ?? '').slice(2, -1);
    const note = `BTC: live venues unavailable (${cause})`;
    expect(note.startsWith(kept)).toBe(true);
    expect(note[kept.length]).toBe(' ');
    expect(report.dataNotes).toContain(note);
  });
});
