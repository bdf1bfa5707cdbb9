/**
 * The README's and docs/STRESS.md's worked cascade example: the figures they print are what `qmt stress`
 * gives today on the shared prices (they had drifted once, after a default policy change, unnoticed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQmt } from '../../cli/run-qmt.ts';
import { REPO_ROOT, sharedPriceFile } from '../shared.ts';

interface StressJson {
  readonly rounds: readonly { readonly liquidatedAccounts: readonly string[] }[];
  readonly cascadeMultiplier: Readonly<Record<string, number>>;
  readonly badDebt: string | number;
  readonly finalMarks?: Readonly<Record<string, number>>;
}

async function stress(shock: string): Promise<{ text: string; json: StressJson }> {
  const args = [
    'stress',
    '--accounts',
    join(REPO_ROOT, 'docs/examples/stress-book.json'),
    '--prices',
    `BTC=${sharedPriceFile('BTC')}`,
    `ETH=${sharedPriceFile('ETH')}`,
    '--shock',
    `BTC=${shock}`,
  ];
  const text = await runQmt(args);
  const json = await runQmt([...args, '--json']);
  expect(text.code).toBe(0);
  expect(json.code).toBe(0);
  return { text: text.out, json: JSON.parse(json.out) as StressJson };
}

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
const stressDoc = readFileSync(join(REPO_ROOT, 'docs/STRESS.md'), 'utf8');

describe('the worked cascade example (docs/examples/stress-book.json)', () => {
  it('BTC −3%: docs/STRESS.md holds the command output verbatim, the README its figures', async () => {
    // Act
    const { text, json } = await stress('-3%');

    // Assess: the report block in docs/STRESS.md is the output up to the bad-debt line.
    const block = text.slice(
      0,
      text.indexOf('bad debt') + text.slice(text.indexOf('bad debt')).indexOf('\n'),
    );
    expect(stressDoc).toContain(block.trimEnd());
    const liquidated = json.rounds.reduce((sum, round) => sum + round.liquidatedAccounts.length, 0);
    const multiplier = json.cascadeMultiplier.BTC?.toFixed(3);
    expect(readme).toContain(`multiplier of ${multiplier}`);
    expect(readme).toContain(
      `liquidates ${['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'][json.rounds[0]?.liquidatedAccounts.length ?? 0]} BTC longs in round 0`,
    );
    expect(stressDoc).toContain(`liquidated ${liquidated} of 14 accounts`);
    expect(Number(json.badDebt)).toBe(0);
  }, 300_000);

  it('BTC −10%: the bad debt both documents quote', async () => {
    // Act
    const { json } = await stress('-10%');

    // Assess
    const badDebt = Number(json.badDebt).toLocaleString('en-US', {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
    expect(readme).toContain(`At −10% the same book leaves ${badDebt} of bad debt`);
    expect(stressDoc).toContain(`bad debt of ${badDebt}`);
    expect(stressDoc).toContain(`a multiplier of ${json.cascadeMultiplier.BTC?.toFixed(3)}`);
  }, 300_000);
});
