/**
 * Issue 11, item 10: a policy book (`{ "default": …, "instruments": … }`) refuses what it does not know, with
 * its path: an override under a misspelt key used to be ignored, and the instrument got the default policy.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicyBook } from '../../lib/cli/inputs.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import { runQmt } from './run-qmt.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qmt-policy-book-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, document: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof document === 'string' ? document : JSON.stringify(document));
  return path;
}

/** The PolicyError `loadPolicyBook` throws for `document`; fails the test when it loads. */
async function bookError(document: unknown): Promise<{ error: PolicyError; path: string }> {
  const path = await fileWith('book.json', document);
  try {
    await loadPolicyBook(path);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return { error: error as PolicyError, path };
  }
  throw new Error(`expected ${JSON.stringify(document)} to be refused`);
}

describe('loadPolicyBook', () => {
  it('applies a default and per-instrument overrides (the book it accepts)', async () => {
    const path = await fileWith('book.json', {
      default: { confidence: 0.995 },
      instruments: { sol: { marginPeriodOfRiskDays: 2 } },
    });
    const book = await loadPolicyBook(path);
    expect(book.policyFor('SOL')).toMatchObject({ confidence: 0.995, marginPeriodOfRiskDays: 2 });
    expect(book.policyFor('BTC')).toMatchObject({ confidence: 0.995, marginPeriodOfRiskDays: 1 });
  });

  it('merges an override into the default at every depth, as the deployed configuration does', async () => {
    // A shallow merge would replace the whole antiProcyclicality object and drop the default's buffer.
    const path = await fileWith('book.json', {
      default: { antiProcyclicality: { buffer: 0.25, longLookbackFloor: { years: 5 } } },
      instruments: { SOL: { antiProcyclicality: { longLookbackFloor: { share: 1 } } } },
    });
    const sol = (await loadPolicyBook(path)).policyFor('SOL').antiProcyclicality;
    expect(sol).toMatchObject({ buffer: 0.25, longLookbackFloor: { years: 5, share: 1 } });
  });

  it('refuses a misspelt instruments key with its path and the key it meant, instead of losing the override', async () => {
    const { error, path } = await bookError({
      default: { confidence: 0.995 },
      instrument: { SOL: { marginPeriodOfRiskDays: 2 } },
    });
    expect(error.path).toBe(`${path}:instrument`);
    expect(error.message).toContain(`${path}:instrument: unknown key (did you mean "instruments"?)`);
  });

  it('refuses a misspelt instruments key in a file without a default too (not read as a one-policy file)', async () => {
    const { error, path } = await bookError({ instrument: { SOL: { marginPeriodOfRiskDays: 2 } } });
    expect(error.path).toBe(`${path}:instrument`);
    expect(error.message).toContain(`${path}:instrument: unknown key (did you mean "instruments"?)`);
  });

  it('refuses a misspelt default key, and a policy field at the top of a book, with their paths', async () => {
    const { error, path } = await bookError({
      defaults: { confidence: 0.995 },
      confidence: 0.995,
      instruments: {},
    });
    expect(error.message).toContain(`${path}:defaults: unknown key (did you mean "default"?)`);
    expect(error.message).toContain(
      `${path}:confidence: unknown key (a policy field: put it under "default" or an instrument)`,
    );
  });

  it('refuses an instrument entry that is not an object of policy fields', async () => {
    const { error, path } = await bookError({ instruments: { SOL: 2 } });
    expect(error.path).toBe(`${path}:instruments.SOL`);
    expect(error.message).toContain(`${path}:instruments.SOL: `);
  });

  it('refuses one instrument named twice (btc and BTC), instead of keeping the last silently', async () => {
    const { error, path } = await bookError({
      instruments: { btc: { confidence: 0.995 }, BTC: { confidence: 0.999 } },
    });
    expect(error.path).toBe(`${path}:instruments.BTC`);
    expect(error.message).toContain('BTC');
  });

  it('names a misspelt field inside an instrument override with its full path', async () => {
    const { error, path } = await bookError({ instruments: { SOL: { stress: { coverdShare: 0.5 } } } });
    expect(error.path).toBe(`${path}:instruments.SOL.stress.coverdShare`);
  });

  it('refuses a reserved key as an instrument, with its path', async () => {
    const { error, path } = await bookError('{"instruments":{"__proto__":{"confidence":0.95}}}');
    expect(error.message).toContain(`${path}:instruments.__proto__: reserved key`);
  });
});

describe('every object in a policy is strict', () => {
  /** Paths of every plain object in `value` (arrays entered by index). */
  function objectPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(value)) return value.flatMap((inner, i) => objectPaths(inner, [...path, i]));
    if (typeof value !== 'object' || value === null) return [];
    return [path, ...Object.entries(value).flatMap(([key, inner]) => objectPaths(inner, [...path, key]))];
  }
  const full = JSON.parse(JSON.stringify(DEFAULT_THRESHOLD_POLICY));
  const paths = objectPaths(full);

  it('covers the nested objects (not vacuous)', () => {
    expect(paths.length).toBeGreaterThan(10);
    expect(paths).toContainEqual(['volatility', 'combination', 'weights']);
    expect(paths).toContainEqual(['stress', 'scenarios', 0]);
  });

  it.each(paths.map((path) => [path.join('.') || '(top)', path] as const))(
    '%s: an unknown key is refused with its path',
    (_name, path) => {
      const document = JSON.parse(JSON.stringify(full));
      const target = path.reduce((node, key) => node[key], document);
      target.misspelt = 1;
      expect(() => parseThresholdPolicy(document)).toThrow(
        expect.objectContaining({ path: ['policy', ...path, 'misspelt'].join('.') }),
      );
    },
  );
});

describe('qmt thresholds --policy', () => {
  const run = (...argv: string[]) => runQmt(argv);

  /** 60 days of a gentle random walk: enough for the command to run if the policy were accepted. */
  async function pricesFile(): Promise<string> {
    const rows = ['Date,Open,High,Low,Close,Volume'];
    let close = 100;
    for (let day = 0; day < 60; day++) {
      const open = close;
      close = open * (1 + 0.01 * Math.sin(day * 1.7));
      const date = new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10);
      rows.push(
        `${date},${open},${Math.max(open, close) * 1.01},${Math.min(open, close) * 0.99},${close},1000`,
      );
    }
    return fileWith('SOL-USD.csv', `${rows.join('\n')}\n`);
  }

  it('exits 1 and names the misspelt key in a book, with its file', async () => {
    const prices = await pricesFile();
    const policy = await fileWith('bad.json', {
      default: {},
      instrument: { SOL: { marginPeriodOfRiskDays: 2 } },
    });
    const { code, out, err } = await run('thresholds', '--prices', prices, '--policy', policy, '--json');
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain(`${policy}:instrument: unknown key (did you mean "instruments"?)`);
  });

  it('runs with the corrected book (the failure above is the key, not the prices)', async () => {
    const prices = await pricesFile();
    const policy = await fileWith('good.json', {
      default: {},
      instruments: { SOL: { marginPeriodOfRiskDays: 2 } },
    });
    const { code, out } = await run('thresholds', '--prices', prices, '--policy', policy, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out).thresholds[0].instrument).toBe('SOL');
  });
});
