/**
 * What reaches the terminal: user-supplied text (CSV cells, file names, ids, venue errors) shown with its
 * control characters and bidi overrides as visible escapes, never executed by the terminal; `--json` output
 * stays valid JSON that parses back to the same strings.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { marketData, noteForTerminal } from '../../lib/cli/commands/market-data.ts';
import type { MarketDataSource } from '../../lib/ports.ts';
import { runQmt } from './run-qmt.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const run = (...argv: string[]) => runQmt(argv);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qmt-terminal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('terminal output of the qmt command', () => {
  it('shows a CSV cell that holds escape sequences and a bidi override escaped, in the error it names', async () => {
    // Prepare: a close that would clear the screen and reverse the rest of the line.
    const file = join(dir, 'BTC-USD.csv');
    await writeFile(
      file,
      'Date,Open,High,Low,Close,Volume\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5,\u001b[2Jx\u202e\u009b,10\n',
    );
    // Act
    const { code, out, err } = await run('thresholds', '--prices', file);
    // Assess
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).not.toMatch(RAW_CONTROL);
    expect(err).toContain('line 3: close "\\u001b[2Jx\\u202e\\u009b" is not a number');
  });

  it('escapes a file name on the terminal, whatever the message that carries it', async () => {
    const { code, err } = await run(
      'volatility',
      '--prices',
      `BTC=${join(dir, 'missing\u001b]0;pwn\u0007.csv')}`,
    );
    expect(code).toBe(1);
    expect(err).not.toMatch(RAW_CONTROL);
    expect(err).toContain('missing\\u001b]0;pwn\\u0007.csv');
  });

  it('escapes commander’s own messages (an unknown option echoes the argument)', async () => {
    const { code, err } = await run('scale', '--\u001b[31mred');
    expect(code).toBe(2);
    expect(err).not.toMatch(RAW_CONTROL);
    expect(err).toContain('\\u001b[31mred');
  });

  it('keeps --json valid: C1 controls and bidi overrides become \\u escapes, and parse back unchanged', async () => {
    // Prepare: a policy file whose version string (printed back in the report) holds what JSON.stringify leaves raw.
    const policy = join(dir, 'policy.json');
    const version = 'house\u202e\u009b\u007f\u2066v1';
    await writeFile(policy, JSON.stringify({ version }));
    const prices = join(dir, 'ETH-USD.csv');
    const rows = Array.from({ length: 400 }, (_, i) => {
      const day = new Date(Date.UTC(2023, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      const close = 1_000 * Math.exp(0.02 * Math.sin(i / 3) + i * 0.001);
      return `${day},${close},${close * 1.01},${close * 0.99},${close},100`;
    });
    await writeFile(prices, `Date,Open,High,Low,Close,Volume\n${rows.join('\n')}\n`);
    // Act
    const { code, out } = await run('thresholds', '--prices', prices, '--policy', policy, '--json');
    // Assess
    expect(code).toBe(0);
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out).toContain('house\\u202e\\u009b\\u007f\\u2066v1');
    expect(JSON.parse(out).thresholds[0].inputs.policyVersion).toBe(version);
  });
});

describe('venue errors in the data notes', () => {
  const longError =
    'consensus BTC: fewer venues than the quorum of 2 agreed: binance failed (binance BTC /api/v3/klines returned HTTP 503: upstream connect error or disconnect/reset before headers. reset reason: connection termination); coinbase failed (coinbase BTC /products/BTC-USD/candles: fetch failed (ENOTFOUND: getaddrinfo ENOTFOUND api.exchange.coinbase.com)); kraken failed (kraken BTC /0/public/OHLC: the operation was aborted due to timeout)';
  const failing: MarketDataSource = {
    name: 'consensus',
    candles: async () => {
      throw new Error(longError);
    },
  };

  it('keep the whole venue error (what --json prints) and cut it on the terminal at a word boundary', async () => {
    // Act
    const { notes } = await marketData({ live: failing }, Date.UTC(2026, 11, 3));
    const btc = notes.find((note) => note.startsWith('BTC: live venues unavailable'));
    const shown = noteForTerminal(btc ?? '');
    // Assess: the note is whole; the terminal line is short, ends on a whole word and says it was cut.
    expect(btc).toBe(`BTC: live venues unavailable (${longError})`);
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown.endsWith('…')).toBe(true);
    const kept = shown.slice(0, -1).trimEnd();
    expect(btc?.startsWith(kept)).toBe(true);
    expect(btc?.[kept.length]).toMatch(/\s/);
  });
});
